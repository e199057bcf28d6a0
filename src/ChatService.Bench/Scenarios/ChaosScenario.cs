using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Reporting;
using Grpc.Core;
using Grpc.Net.Client;
using Spanner.Client;
using StackExchange.Redis;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>chaos</c>: callers send messages (each with its own request id, retried with the same id
/// until it is accepted) and read history, while a Redis primary is killed, then the service is
/// SIGKILLed and a new instance started on the same database, then Redis is healed. Afterwards it
/// checks Spanner: every accepted message recorded once, every reply settled, none stored twice.
/// </summary>
internal static class ChaosScenario
{
    private const int MaxAttempts = 40;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    public static async Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        var callers = options.Concurrency[0];
        var settings = ServiceSettings.SimulatedBackend(TimeSpan.FromMilliseconds(50), tokensPerSecond: 100, minTokens: 20, maxTokens: 40);
        settings["Chat:ReplyLease"] = "00:00:03";
        settings["Dispatch:SweepInterval"] = "00:00:00.500";
        // Outlives the first service instance: the second serves the same data.
        await using var database = await BenchDatabase.ReserveAsync();

        Console.WriteLine($"[{report.Scenario}] starting the service");
        var service = await BenchService.StartAsync(ServiceSettings.WithReplica(settings, "chaos-a"), database, cancellationToken);
        var target = new Target(service.GrpcAddress);
        try
        {
            var chats = await ChatSeeder.SeedAsync(target.Channel.CreateCallInvoker(), callers, exchanges: 1, concurrency: 8, cancellationToken);
            var outcome = new Outcome();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var clock = Stopwatch.StartNew();
            var load = Enumerable.Range(0, callers).Select(i => CallerAsync(i, chats[i], target, outcome, clock, stop.Token)).ToList();

            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            var port = await KillRedisPrimaryAsync();
            outcome.Event(clock, $"killed the Redis primary on :{port}");

            await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            await service.KillAsync();
            outcome.Event(clock, "SIGKILLed the service");
            await service.DisposeAsync();
            service = await BenchService.StartAsync(ServiceSettings.WithReplica(settings, "chaos-b"), database, cancellationToken);
            target.Switch(service.GrpcAddress);
            outcome.Event(clock, "a new service instance is ready");

            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
            await HealRedisAsync(cancellationToken);
            outcome.Event(clock, "Redis Cluster healed (scripts/stack.sh up)");

            await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
            await stop.CancelAsync();
            await Task.WhenAll(load);
            outcome.Event(clock, "load stopped");

            await VerifyAsync(database, outcome, report, cancellationToken);
            Report(outcome, report);
        }
        finally
        {
            target.Dispose();
            await service.DisposeAsync();
        }
    }

    private static async Task CallerAsync(int index, BenchChat chat, Target target, Outcome outcome, Stopwatch clock, CancellationToken stop)
    {
        var random = new Random(index);
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            if (random.NextDouble() < 0.3)
            {
                var requestId = $"chaos-{index}-{n}";
                outcome.Attempted[(chat.ChatId, requestId)] = false;
                if (await RetryAsync(outcome, stop, () => SendAsync(target.Client, chat, requestId, random, stop)))
                {
                    outcome.Attempted[(chat.ChatId, requestId)] = true;
                }
            }
            else
            {
                var started = clock.Elapsed;
                if (await RetryAsync(outcome, stop, () => target.Client.GetHistoryAsync(
                        new GetHistoryRequest { ChatId = chat.ChatId }, chat.Headers, cancellationToken: stop).ResponseAsync))
                {
                    outcome.HistoryLatency.Add(((int)started.TotalSeconds, (clock.Elapsed - started).TotalMilliseconds));
                }
            }
        }
    }

    /// <summary>Sends and reads the stream to its end; a broken stream is retried with the same request id.</summary>
    private static async Task SendAsync(ChatClient client, BenchChat chat, string requestId, Random random, CancellationToken stop)
    {
        using var call = client.SendMessage(
            new SendMessageRequest { ChatId = chat.ChatId, Text = SampleText.UserMessage(random), RequestId = requestId }, chat.Headers, cancellationToken: stop);
        await foreach (var _ in call.ResponseStream.ReadAllAsync(stop))
        {
        }
    }

    /// <summary>True once the call succeeded; counts transient failures, and a failure when it never did.</summary>
    private static async Task<bool> RetryAsync(Outcome outcome, CancellationToken stop, Func<Task> call)
    {
        for (var attempt = 1; attempt <= MaxAttempts && !stop.IsCancellationRequested; attempt++)
        {
            try
            {
                await call();
                Interlocked.Increment(ref outcome.Succeeded);
                return true;
            }
            // Transient statuses a client retries with the same request id; INTERNAL and UNKNOWN are not among
            // them, so a server bug counts as a failed RPC rather than hiding behind a retry.
            catch (RpcException ex) when (!stop.IsCancellationRequested && ex.StatusCode is StatusCode.Unavailable
                or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Cancelled)
            {
                Interlocked.Increment(ref outcome.Retried);
                outcome.Statuses.AddOrUpdate(ex.StatusCode.ToString(), 1, (_, c) => c + 1);
                await Task.Delay(RetryDelay, CancellationToken.None);
            }
            catch (RpcException ex) when (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref outcome.Failed);
                outcome.Statuses.AddOrUpdate(ex.StatusCode.ToString(), 1, (_, c) => c + 1);
                return false;
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return false;
            }
        }

        if (!stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref outcome.Failed);
        }

        return false;
    }

    private static async Task<int> KillRedisPrimaryAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(BenchStack.Endpoints.RedisConfiguration + ",allowAdmin=true");
        var primary = redis.GetServers().First(s => s.IsConnected && !s.IsReplica);
        try
        {
            await primary.ExecuteAsync("DEBUG", "SEGFAULT");
        }
        catch (RedisException)
        {
            // The node dies without answering.
        }

        return ((System.Net.IPEndPoint)primary.EndPoint).Port;
    }

    private static async Task HealRedisAsync(CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ChatService.sln")))
        {
            root = root.Parent;
        }

        using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root!.FullName, "scripts", "stack.sh"), "up"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/stack.sh up failed with exit code {process.ExitCode}: {await errors}{await output}");
        }
    }

    /// <summary>What Spanner holds once every owed reply has settled.</summary>
    private static async Task VerifyAsync(BenchDatabase bench, Outcome outcome, BenchReport report, CancellationToken cancellationToken)
    {
        await using var database = SpannerDatabaseClient.Create(bench.SpannerOptions);
        async Task<long> CountAsync(string sql) => (await database.QueryListAsync(new SpannerStatement(sql), cancellationToken: cancellationToken))[0].Get<long>(0);

        var settleWait = Stopwatch.StartNew();
        while (await CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL") > 0 && settleWait.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(500, cancellationToken);
        }

        var recorded = (await database.QueryListAsync(
                new SpannerStatement("SELECT ChatId, RequestId, COUNT(*) AS N FROM Turns WHERE RequestId LIKE 'chaos-%' GROUP BY ChatId, RequestId"),
                cancellationToken: cancellationToken))
            .ToDictionary(r => (r.Get<string>("ChatId"), r.Get<string>("RequestId")), r => r.Get<long>("N"));
        outcome.Lost = outcome.Attempted.Count(a => a.Value && !recorded.ContainsKey(a.Key));
        outcome.Duplicated = recorded.Values.Count(n => n > 1)
            + (int)await CountAsync(
                "SELECT COUNT(*) FROM Turns u WHERE u.AuthorRole = 1 AND (SELECT COUNT(*) FROM Turns r WHERE r.ChatId = u.ChatId AND r.ReplyToSeq = u.Seq) <> 1");
        outcome.StillOwed = await CountAsync("SELECT COUNT(*) FROM Candidates WHERE OwedShard IS NOT NULL");
        outcome.StoredTwice = await CountAsync(
            "SELECT COUNT(*) FROM (SELECT ChatId, Seq, CandidateId FROM ModelCalls WHERE Outcome = 'ok' GROUP BY ChatId, Seq, CandidateId HAVING COUNT(*) > 1)");
        report.Figure("replies settled within", string.Create(CultureInfo.InvariantCulture, $"{settleWait.Elapsed.TotalSeconds:0.0} s after the load stopped"));
        report.Figure("messages recorded / accepted", $"{recorded.Count} / {outcome.Attempted.Count(a => a.Value)} (attempted {outcome.Attempted.Count})");
    }

    private static void Report(Outcome outcome, BenchReport report)
    {
        report.Figure("RPCs succeeded", outcome.Succeeded.ToString(CultureInfo.InvariantCulture));
        report.Figure("RPC attempts retried (transient)", $"{outcome.Retried} ({string.Join(", ", outcome.Statuses.Select(s => $"{s.Key} {s.Value}"))})");
        report.Figure("RPCs failed (after retries)", outcome.Failed.ToString(CultureInfo.InvariantCulture));
        report.Figure("lost turns", outcome.Lost.ToString(CultureInfo.InvariantCulture));
        report.Figure("duplicated turns", outcome.Duplicated.ToString(CultureInfo.InvariantCulture));
        report.Figure("replies still owed", outcome.StillOwed.ToString(CultureInfo.InvariantCulture));
        report.Figure("replies stored twice", outcome.StoredTwice.ToString(CultureInfo.InvariantCulture));
        foreach (var e in outcome.Events)
        {
            report.Notes.Add(e);
        }

        var perSecond = outcome.HistoryLatency.GroupBy(l => l.Second).OrderBy(g => g.Key)
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key}s:{g.Count()}/{Percentile(g.Select(x => x.Ms), 0.5):0.0}ms"));
        report.Notes.Add("GetHistory per second (calls / p50), a proxy for the cache's hit rate until the service exports metrics: " + string.Join(" ", perSecond));
        report.Targets.Add(new TargetCheck("chaos: 0 failed RPCs, 0 lost or duplicated turns",
            $"failed {outcome.Failed}, lost {outcome.Lost}, duplicated {outcome.Duplicated}, still owed {outcome.StillOwed}, stored twice {outcome.StoredTwice}",
            outcome.Failed == 0 && outcome.Lost == 0 && outcome.Duplicated == 0 && outcome.StillOwed == 0 && outcome.StoredTwice == 0));
    }

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }

    /// <summary>The service the callers talk to; switched when it is restarted on new ports.</summary>
    private sealed class Target(Uri address) : IDisposable
    {
        private GrpcChannel _channel = GrpcChannel.ForAddress(address);

        public GrpcChannel Channel => _channel;

        public ChatClient Client => new(_channel);

        public void Switch(Uri address)
        {
            var old = Interlocked.Exchange(ref _channel, GrpcChannel.ForAddress(address));
            old.Dispose();
        }

        public void Dispose() => _channel.Dispose();
    }

    private sealed class Outcome
    {
        public readonly ConcurrentDictionary<(string ChatId, string RequestId), bool> Attempted = new();
        public readonly ConcurrentBag<(int Second, double Ms)> HistoryLatency = [];
        public readonly ConcurrentDictionary<string, int> Statuses = new();
        public readonly List<string> Events = [];
        public long Succeeded;
        public long Retried;
        public long Failed;
        public int Lost;
        public int Duplicated;
        public long StillOwed;
        public long StoredTwice;

        public void Event(Stopwatch clock, string what)
        {
            lock (Events)
            {
                Events.Add(string.Create(CultureInfo.InvariantCulture, $"t={clock.Elapsed.TotalSeconds:0.0}s: {what}"));
            }
        }
    }
}
