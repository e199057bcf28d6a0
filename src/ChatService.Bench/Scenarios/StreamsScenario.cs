using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using ChatService.Bench.Reporting;
using ChatService.Testing;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>streams</c>: K replies generated and streamed at once by one service process, each from a slow
/// simulated backend (first token after 1 s, 20 tokens over <see cref="BenchOptions.Hold"/>), opened
/// with SendMessage at a bounded rate; the client counts the streams open at once and the bench
/// samples the service's RSS (<c>/proc/&lt;pid&gt;/status</c>).
/// </summary>
internal static class StreamsScenario
{
    private const int Tokens = 20;
    private const int StreamsPerChat = 10;
    private const int StreamsPerChannel = 100;
    private const int TargetStreams = 10_000;
    private const long TargetRssBytes = 1L << 30;
    private static readonly TimeSpan Ttft = TimeSpan.FromSeconds(1);

    public static async Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        var k = options.Streams;
        var hold = options.Hold > Ttft + TimeSpan.FromSeconds(1) ? options.Hold : Ttft + TimeSpan.FromSeconds(1);
        var settings = ServiceSettings.SimulatedBackend(Ttft, (Tokens - 1) / (hold - Ttft).TotalSeconds, Tokens, Tokens);
        var capacity = (k + 64).Invariant();
        settings["Inference:Backends:sim:MaxConcurrency"] = capacity;
        settings["Inference:Backends:sim:TotalTimeout"] = (hold + TimeSpan.FromMinutes(5)).Invariant();
        settings["Dispatch:MaxConcurrentReplies"] = capacity;
        settings["Dispatch:QueueCapacity"] = capacity;
        // Renewals come every third of the lease; a lease this long needs none while a reply lasts.
        settings["Chat:ReplyLease"] = (3 * hold + TimeSpan.FromMinutes(10)).Invariant();
        settings["Dispatch:ShutdownGrace"] = TimeSpan.FromSeconds(2).Invariant();

        Console.WriteLine($"[{report.Scenario}] starting the service for {k} streams");
        await using var database = await BenchDatabase.ReserveAsync();
        await using var service = await BenchService.StartAsync(settings, database, cancellationToken);
        var chatCount = (k + StreamsPerChat - 1) / StreamsPerChat;
        var setupStarted = Stopwatch.GetTimestamp();
        IReadOnlyList<BenchChat> chats;
        using (var setup = new ChannelPool(service.GrpcAddress, 16, 16))
        {
            chats = await ChatSeeder.SeedAsync(setup.For(0), chatCount, exchanges: 0, concurrency: 16, cancellationToken);
        }

        report.Figure("setup", string.Create(CultureInfo.InvariantCulture,
            $"{chatCount} chats ({StreamsPerChat} streams each) created in {Stopwatch.GetElapsedTime(setupStarted).TotalSeconds:0.0} s"));
        var idle = ProcessProbe.Memory(service.Pid);
        report.Figure("service RSS before opening streams", BenchReport.Mib(idle.Rss));

        using var pool = new ChannelPool(service.GrpcAddress, k, StreamsPerChannel);
        await pool.ConnectAllAsync(cancellationToken);
        var clients = Enumerable.Range(0, pool.Count).Select(i => new ChatClient(pool.For(i))).ToArray();
        var state = new StreamCounters(k);
        using var stopSampling = new CancellationTokenSource();
        var sampler = SampleAsync(service, state, stopSampling.Token);

        // The bench ends the streams itself after the hold; cancelled streams are not errors.
        using var streamsCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Console.WriteLine($"[{report.Scenario}] opening {k} streams, {options.OpenConcurrency} at a time");
        var openStarted = Stopwatch.GetTimestamp();
        var openCpu = CpuSplit.Start(service.Pid);
        using var opening = new SemaphoreSlim(options.OpenConcurrency);
        var streams = new List<Task>(k);
        for (var j = 0; j < k; j++)
        {
            await opening.WaitAsync(cancellationToken);
            var index = j;
            var client = clients[index % clients.Length];
            var chat = chats[index / StreamsPerChat];
            streams.Add(Task.Run(() => FollowAsync(client, chat, index, opening, state, streamsCancel.Token), cancellationToken));
        }

        // Every stream has been asked for; wait until the last ones are accepted (or failed).
        for (var i = 0; i < options.OpenConcurrency; i++)
        {
            await opening.WaitAsync(cancellationToken);
        }

        var openSeconds = Stopwatch.GetElapsedTime(openStarted).TotalSeconds;
        report.Figure("opening", string.Create(CultureInfo.InvariantCulture,
            $"{state.Accepted} of {k} accepted in {openSeconds:0.0} s ({state.Accepted / openSeconds:0} SendMessage/s on average, each one recording transaction; {state.OpeningRates()})"));
        report.Figure("CPU while opening", openCpu.Stop().ToString());

        var window = options.Duration;
        Console.WriteLine($"[{report.Scenario}] holding for {window.TotalSeconds:0} s");
        var cpu = CpuSplit.Start(service.Pid);
        await Task.Delay(window, cancellationToken);
        var split = cpu.Stop();
        var atHold = ProcessProbe.Memory(service.Pid);
        var openAtHold = state.Open;
        await stopSampling.CancelAsync();
        await sampler;

        // Not measured: storing thousands of replies on the emulator takes minutes. End the streams and the service.
        await streamsCancel.CancelAsync();
        await Task.WhenAll(streams);
        await service.KillAsync();

        var hwm = atHold.PeakRss;
        var perStream = state.PeakOpen > 0 ? (atHold.Rss - idle.Rss) / (double)state.PeakOpen : 0;
        report.Figure("streams open at once (peak, client side)", string.Create(CultureInfo.InvariantCulture,
            $"{state.PeakOpen} ({state.PeakGenerating} of them past Started); {openAtHold} still open at the end of the {window.TotalSeconds:0} s hold"));
        report.Figure("service RSS", $"{BenchReport.Mib(idle.Rss)} before opening, {BenchReport.Mib(state.RssAtHalf)} at {k / 2} open, {BenchReport.Mib(atHold.Rss)} at the end of the hold, peak sampled {BenchReport.Mib(state.PeakRss)}, VmHWM {BenchReport.Mib(hwm)}");
        var marginal = state.RssAtHalf > 0 ? (atHold.Rss - state.RssAtHalf) / (double)(openAtHold - k / 2) : 0;
        report.Figure("service RSS per open stream", string.Create(CultureInfo.InvariantCulture,
            $"{perStream / 1024:0.0} KiB on average ((RSS at hold - RSS before) / open), {marginal / 1024:0.0} KiB at the margin (from {k / 2} to {openAtHold} open)"));
        report.Figure($"extrapolated RSS at {TargetStreams} streams", string.Create(CultureInfo.InvariantCulture,
            $"{BenchReport.Mib((long)(idle.Rss + perStream * TargetStreams))} (before + {TargetStreams} x average per stream)"));
        report.Figure("CPU while holding", split.ToString());
        report.Figure("outcomes", string.Create(CultureInfo.InvariantCulture,
            $"{state.Completed} completed and {state.Failed} failed replies, {state.Errors} RPC errors during opening and hold ({state.Retried} SendMessage calls retried with their request id before acceptance); service error logs {service.ErrorLogs}"));
        foreach (var (kind, sample) in state.ErrorSamples())
        {
            report.Notes.Add($"error {kind}: {sample}");
        }

        var noErrors = state.Errors == 0 && state.Failed == 0;
        report.Targets.Add(new TargetCheck(
            $"{TargetStreams} concurrent streaming replies in one process <= 1 GiB RSS, no errors",
            string.Create(CultureInfo.InvariantCulture,
                $"{state.PeakOpen} open at once, VmHWM {BenchReport.Mib(hwm)}, {state.Errors + state.Failed} errors/failures; extrapolated to {TargetStreams}: {BenchReport.Mib((long)(idle.Rss + perStream * TargetStreams))}"),
            state.PeakOpen >= TargetStreams && hwm <= TargetRssBytes && noErrors));
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"Simulated backend: first token after {Ttft.TotalSeconds:0} s, {Tokens} tokens over {hold.TotalSeconds:0} s per reply; Dispatch:MaxConcurrentReplies, Dispatch:QueueCapacity and the backend's MaxConcurrency raised to K + 64; Chat:ReplyLease long enough that no renewal commits happen."));
        report.Notes.Add("Opening is bounded by the emulator: every SendMessage is one read-write transaction and the emulator runs one at a time. " +
            "After the hold the bench cancels the streams and kills the service: storing thousands of replies on the emulator is not what this measures.");
    }

    private static async Task FollowAsync(ChatClient client, BenchChat chat, int index, SemaphoreSlim opening, StreamCounters state, CancellationToken cancellationToken)
    {
        var accepted = false;
        var generating = false;
        var request = new SendMessageRequest
        {
            ChatId = chat.ChatId,
            Text = "Tell me a long story, please. #" + index.ToString(CultureInfo.InvariantCulture),
            RequestId = Guid.NewGuid().ToString("N"),
        };
        try
        {
            // As the API asks of clients: a transient status before acceptance is retried with the
            // same request id (nothing is recorded twice).
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await StreamOnceAsync();
                    return;
                }
                catch (RpcException ex) when (!accepted && attempt < 10 && !cancellationToken.IsCancellationRequested
                    && ex.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted)
                {
                    state.OnRetried();
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            state.OnError(ex is RpcException rpc ? rpc.StatusCode.ToString() : ex.GetType().Name, ex.Message);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Ended by the bench after the hold.
        }
        finally
        {
            if (!accepted)
            {
                opening.Release();
            }

            state.OnEnded(accepted, generating);
        }

        async Task StreamOnceAsync()
        {
            using var call = client.SendMessage(request, chat.Headers, cancellationToken: cancellationToken);
            await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                switch (e.EventCase)
                {
                    case ReplyEvent.EventOneofCase.Accepted when !accepted:
                        accepted = true;
                        state.OnAccepted();
                        opening.Release();
                        break;
                    case ReplyEvent.EventOneofCase.Started or ReplyEvent.EventOneofCase.Delta when !generating:
                        generating = true;
                        state.OnGenerating();
                        break;
                    case ReplyEvent.EventOneofCase.Completed:
                        state.OnCompleted();
                        return;
                    case ReplyEvent.EventOneofCase.Failed:
                        state.OnFailed($"{e.Failed.Code}: {e.Failed.Reason}");
                        return;
                }
            }

            state.OnError("DataLoss", "the stream ended without Completed");
        }
    }

    private static async Task SampleAsync(ServiceProcess service, StreamCounters state, CancellationToken cancellationToken)
    {
        var lastPrint = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var (rss, _) = ProcessProbe.Memory(service.Pid);
                state.Sample(rss, Stopwatch.GetTimestamp());
                if (Stopwatch.GetElapsedTime(lastPrint) > TimeSpan.FromSeconds(5))
                {
                    lastPrint = Stopwatch.GetTimestamp();
                    Console.WriteLine($"  open {state.Open}, generating {state.Generating}, completed {state.Completed}, failed {state.Failed}, errors {state.Errors}, service RSS {BenchReport.Mib(rss)}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Done sampling.
        }
    }
}
