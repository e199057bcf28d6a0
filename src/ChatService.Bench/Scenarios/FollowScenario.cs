using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using ChatService.Bench.Reporting;
using ChatService.Testing;
using Grpc.Core;
using StackExchange.Redis;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>follow</c>: live replies from any replica (issue 12). Two service processes, A and B, on one
/// database and the stack's Redis Cluster, with a simulated backend slow enough to follow. Delay
/// part, at each concurrency: <see cref="BenchOptions.Replies"/> messages sent on A with SendMessage
/// (the sender's stream is the reference), each reply followed from after its Accepted event by
/// StreamReply on A (same replica) and on B (cross replica); every event's arrival is timed on the
/// bench's one clock. Cancel part: <see cref="BenchOptions.Cancels"/> long replies sent on A, each
/// cancelled with CancelReply on B once A's stream has some deltas: how soon A's stream stops and
/// ends CANCELLED, and whether the stored partial text is what A streamed. Fan-out part:
/// <see cref="BenchOptions.FanOutReplies"/> replies started on A at once, each followed by
/// <see cref="BenchOptions.FollowersPerReply"/> StreamReply calls on B. Delay and fan-out check the
/// followers' sequences and text against the sender's and take what following cost: B's CPU (and
/// memory in the fan-out), Spanner reads on B, and the Redis primaries' commands and CPU.
/// </summary>
internal static class FollowScenario
{
    /// <summary>Followers ask for the events after Accepted, as a client that saw Accepted on another connection would.</summary>
    private const long AfterSequence = 1;

    /// <summary>Kestrel's default limit of concurrent streams on one HTTP/2 connection: the fan-out opens a channel per this many.</summary>
    private const int StreamsPerChannel = 100;

    /// <summary>The route (and simulated backend) of the fan-out chats' character: replies that last about <see cref="BenchOptions.Hold"/>.</summary>
    private const string FanOutRoute = "hold";

    /// <summary>
    /// The route (and simulated backend) of the cancel part's chats' character: the delay part's pace, and
    /// <see cref="CancelTokens"/> tokens, so that a reply is still generating when the bench cancels it.
    /// </summary>
    private const string CancelRoute = "cancel";

    /// <summary>The most tokens the service asks a backend for in one reply (GenerationRequest.MaxOutputTokens): every cancel-route reply's length.</summary>
    private const int CancelTokens = 512;

    /// <summary>Delta events A's stream delivers before the bench cancels the reply on B.</summary>
    private const int DeltasBeforeCancel = 2;

    /// <summary>Cancel part: callers at once, each on chats of its own, one reply after the other.</summary>
    private const int CancelCallers = 4;

    /// <summary>Issue 12: CancelReply on B stops the reply generating on A within this (p99).</summary>
    private const double CancelStopTargetMs = 200;

    private const string SameReplicaDelay = "same-replica delay (StreamReply on A - sender)";
    private const string CrossReplicaDelay = "cross-replica delay (StreamReply on B - sender)";
    private const string CancelStopped = "A stops (CancelReply on B to A's last delta, or its failed event)";
    private const string CancelStored = "stored (CancelReply on B to A's failed CANCELLED)";

    public static async Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        var settings = Settings(options);
        await using var database = await BenchDatabase.ReserveAsync();
        Console.WriteLine($"[{report.Scenario}] starting replicas A and B");
        // One after the other: the first service on a new database creates its schema.
        await using var a = await BenchService.StartAsync(ServiceSettings.WithReplica(settings, "follow-a"), database, cancellationToken);
        var follower = ServiceSettings.WithReplica(settings, "follow-b");
        // B only follows: its recovery sweep's reads would count as the followers'. A's stays on, to take
        // over a reply whose settle gave up (the emulator aborts commits under load) rather than leave it owed.
        follower["Dispatch:SweepInterval"] = "01:00:00";
        follower["Summary:SweepInterval"] = "01:00:00";
        await using var b = await BenchService.StartAsync(follower, database, cancellationToken);
        await using var redis = await RedisClusterStats.ConnectAsync();

        var setupStarted = Stopwatch.GetTimestamp();
        var chats = await SetUpChatsAsync(a, options.Concurrency.Max(), modelRoute: null, cancellationToken);
        var cancelChats = await SetUpChatsAsync(a, CancelCallers + options.Cancels, CancelRoute, cancellationToken);
        var fanOutChats = await SetUpChatsAsync(a, options.FanOutReplies, FanOutRoute, cancellationToken);
        report.Figure("setup", string.Create(CultureInfo.InvariantCulture,
            $"{chats.Count + cancelChats.Count + fanOutChats.Count} chats created and their history read once on A in {Stopwatch.GetElapsedTime(setupStarted).TotalSeconds:0.0} s"));
        if (options.Warmup > TimeSpan.Zero)
        {
            await WarmUpAsync(a, b, [.. chats.Take(options.Concurrency[0])], options.Concurrency[0], options, cancellationToken);
        }

        foreach (var callers in options.Concurrency)
        {
            await MeasureDelayAsync(a, b, redis, [.. chats.Take(callers)], callers, options, report, cancellationToken);
        }

        await MeasureCancelAsync(a, b, cancelChats, options, report, cancellationToken);
        await MeasureFanOutAsync(a, b, redis, fanOutChats, options, report, cancellationToken);

        if (a.ErrorLogs + b.ErrorLogs > 0)
        {
            report.Notes.Add($"the service logged errors: A {a.ErrorLogs}, B {b.ErrorLogs}");
        }

        AddNotes(options, report);
    }

    /// <summary>
    /// The default route's simulated backend (<c>sim</c>) paced by the options, for the delay part; the
    /// cancel part's (<see cref="CancelRoute"/>), at that pace and as long as a reply can be; the
    /// fan-out's (<see cref="FanOutRoute"/>), as many tokens over about <see cref="BenchOptions.Hold"/>, so
    /// that its replies outlast their opening (every SendMessage is an emulator transaction); and room
    /// for every reply at once.
    /// </summary>
    private static Dictionary<string, string> Settings(BenchOptions options)
    {
        var settings = ServiceSettings.SimulatedBackend(options.TimeToFirstToken, options.TokensPerSecond, options.MinTokens, options.MaxTokens);
        var hold = FanOutHold(options);
        ServiceSettings.AddSimulatedRoute(settings, CancelRoute, CancelRoute, options.TimeToFirstToken, options.TokensPerSecond, CancelTokens, CancelTokens);
        ServiceSettings.AddSimulatedRoute(settings, FanOutRoute, FanOutRoute, options.TimeToFirstToken,
            options.MaxTokens / (hold - options.TimeToFirstToken).TotalSeconds, options.MinTokens, options.MaxTokens);
        var capacity = Math.Max(1024, options.FanOutReplies + options.Concurrency.Max() + 64).Invariant();
        foreach (var (backend, longest) in new[] { ("sim", LongestReply(options)), (CancelRoute, UncancelledReply(options)), (FanOutRoute, hold) })
        {
            settings[$"Inference:Backends:{backend}:MaxConcurrency"] = capacity;
            var totalTimeout = 2 * longest + TimeSpan.FromMinutes(1);
            settings[$"Inference:Backends:{backend}:TotalTimeout"] = (totalTimeout > TimeSpan.FromMinutes(2) ? totalTimeout : TimeSpan.FromMinutes(2)).Invariant();
        }

        settings["Dispatch:MaxConcurrentReplies"] = capacity;
        settings["Dispatch:QueueCapacity"] = capacity;
        return settings;
    }

    /// <summary>The slowest reply of the delay part: first token, then the most tokens at the pace.</summary>
    private static TimeSpan LongestReply(BenchOptions options) =>
        options.TimeToFirstToken + TimeSpan.FromSeconds(options.MaxTokens / options.TokensPerSecond);

    /// <summary>A cancel-route reply that nothing cancels: first token, then <see cref="CancelTokens"/> at the pace.</summary>
    private static TimeSpan UncancelledReply(BenchOptions options) =>
        options.TimeToFirstToken + TimeSpan.FromSeconds(CancelTokens / options.TokensPerSecond);

    /// <summary>The slowest fan-out reply: <see cref="BenchOptions.Hold"/>, and at least a second past the first token.</summary>
    private static TimeSpan FanOutHold(BenchOptions options) =>
        options.Hold > options.TimeToFirstToken + TimeSpan.FromSeconds(1) ? options.Hold : options.TimeToFirstToken + TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long any stream may take to its final event before the bench ends it as timed out: room for
    /// a settle that gives up and the recovery that generates the reply again (lease, sweep, reply).
    /// </summary>
    private static TimeSpan StreamLimit(TimeSpan longestReply) => TimeSpan.FromMinutes(2) + 4 * longestReply;

    /// <summary>
    /// Chats with no exchanges yet, with a character on <paramref name="modelRoute"/>, their windows cached
    /// on A (a history read each), so no send reads Spanner for one.
    /// </summary>
    private static async Task<IReadOnlyList<BenchChat>> SetUpChatsAsync(ServiceProcess a, int count, string? modelRoute, CancellationToken cancellationToken)
    {
        using var setup = new ChannelPool(a.GrpcAddress, 16, 16);
        var chats = await ChatSeeder.SeedAsync(setup.For(0), count, exchanges: 0, concurrency: 16, cancellationToken, modelRoute);
        var client = new ChatClient(setup.For(0));
        await Parallel.ForEachAsync(chats, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (chat, ct) =>
            await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, chat.Headers, cancellationToken: ct));
        return chats;
    }

    /// <summary>
    /// Follows replies for <see cref="BenchOptions.Warmup"/>, unrecorded, as the delay part does: both
    /// services run every path once before a window (JIT, connection pools, the first reads).
    /// </summary>
    private static async Task WarmUpAsync(ServiceProcess a, ServiceProcess b, IReadOnlyList<BenchChat> chats, int callers, BenchOptions options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"[follow] warm-up: {options.Warmup.TotalSeconds:0.#} s of replies followed on A and on B, {callers} at once");
        using var clients = await DelayClients.ConnectAsync(a, b, callers, options.CallersPerChannel, cancellationToken);
        var until = Stopwatch.GetTimestamp() + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
        await SendAndFollowAsync(clients, chats, callers, StreamLimit(LongestReply(options)), _ => Stopwatch.GetTimestamp() < until, cancellationToken);
    }

    /// <summary>
    /// <see cref="BenchOptions.Replies"/> replies, <paramref name="callers"/> at once (each caller on its
    /// own chat), each with three streams: the sender's, StreamReply on A and StreamReply on B.
    /// </summary>
    private static async Task MeasureDelayAsync(ServiceProcess a, ServiceProcess b, ConnectionMultiplexer redis, IReadOnlyList<BenchChat> chats,
        int callers, BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        Console.WriteLine($"[{report.Scenario}] delay: {options.Replies} replies, {callers} at once, each followed on A and on B");
        using var clients = await DelayClients.ConnectAsync(a, b, callers, options.CallersPerChannel, cancellationToken);
        var meter = await FollowCostMeter.StartAsync(a, b, redis, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        var followed = await SendAndFollowAsync(clients, chats, callers, StreamLimit(LongestReply(options)), n => n < options.Replies, cancellationToken);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cost = await meter.StopAsync(cancellationToken);

        var label = $"delay, {callers} at once";
        var (references, same, cross) = Tally(followed, samePerReply: 1, crossPerReply: 1);
        report.Add(Run("delay: SendMessage on A, followed on A and on B", callers, seconds, references, [(SameReplicaDelay, same), (CrossReplicaDelay, cross)], cost.Cpu));
        report.Figure($"{label}: replies sent on A (SendMessage)", references.Summary());
        report.Figure($"{label}: same-replica followers (StreamReply on A)", same.Summary());
        report.Figure($"{label}: cross-replica followers (StreamReply on B)", cross.Summary());
        cost.AddTo(report, label, cross.Deltas, references.ReplySeconds);
        AddSamples(report, label, same);
        AddSamples(report, label, cross);
        report.Targets.Add(Correct(same, $"same-replica followers: the sender's sequences and text ({label})"));
        AddIssue12Targets(report, label, cross, cost);
    }

    /// <summary>
    /// Callers (each on its own chat) send one message after the other on A while <paramref name="more"/>
    /// says so for the next reply's number; each reply is followed once on A and once on B.
    /// </summary>
    private static async Task<IReadOnlyList<FollowedReply>> SendAndFollowAsync(DelayClients clients, IReadOnlyList<BenchChat> chats,
        int callers, TimeSpan streamLimit, Func<int, bool> more, CancellationToken cancellationToken)
    {
        var followed = new List<FollowedReply>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
        {
            var sender = new ChatClient(clients.Senders.For(i));
            ChatClient[] sameReplica = [new(clients.SameReplica.For(i))];
            ChatClient[] crossReplica = [new(clients.CrossReplica.For(i))];
            var random = new Random(i);
            while (more(Interlocked.Increment(ref next)))
            {
                var reply = await FollowReplyAsync(sender, chats[i], SampleText.UserMessage(random), sameReplica, crossReplica, streamLimit,
                    accepted: null, followersChanged: null, cancellationToken);
                lock (followed)
                {
                    followed.Add(reply);
                }
            }
        }, cancellationToken)));
        return followed;
    }

    /// <summary>
    /// <see cref="BenchOptions.Cancels"/> replies sent on A, <see cref="CancelCallers"/> at once (each caller
    /// on chats of its own), each cancelled with CancelReply on B once A's stream has delivered
    /// <see cref="DeltasBeforeCancel"/> deltas; first, with a warm-up, one unrecorded round per caller
    /// (both services' cancel paths run once).
    /// </summary>
    private static async Task MeasureCancelAsync(ServiceProcess a, ServiceProcess b, IReadOnlyList<BenchChat> chats, BenchOptions options,
        BenchReport report, CancellationToken cancellationToken)
    {
        Console.WriteLine($"[{report.Scenario}] cancel: {options.Cancels} replies on A, each cancelled on B after {DeltasBeforeCancel} deltas, {CancelCallers} at once");
        using var senders = new ChannelPool(a.GrpcAddress, CancelCallers, options.CallersPerChannel);
        using var cancellers = new ChannelPool(b.GrpcAddress, CancelCallers, options.CallersPerChannel);
        await Task.WhenAll(senders.ConnectAllAsync(cancellationToken), cancellers.ConnectAllAsync(cancellationToken));
        var streamLimit = StreamLimit(UncancelledReply(options));
        if (options.Warmup > TimeSpan.Zero)
        {
            await SendAndCancelAsync(senders, cancellers, [.. chats.Take(CancelCallers)], streamLimit, cancellationToken);
        }

        var split = CpuSplit.Start([a.Pid, b.Pid]);
        var started = Stopwatch.GetTimestamp();
        var cancelled = await SendAndCancelAsync(senders, cancellers, [.. chats.Skip(CancelCallers).Take(options.Cancels)], streamLimit, cancellationToken);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cpu = split.Stop();

        const string label = "cancel";
        var tally = new CancelTally(DeltasBeforeCancel);
        foreach (var reply in cancelled)
        {
            tally.Add(reply);
        }

        report.Add(tally.Run($"cancel: SendMessage on A, CancelReply on B after {DeltasBeforeCancel} deltas (call to return)", CancelCallers, seconds,
            CancelStopped, CancelStored, cpu));
        report.Figure($"{label}: replies cancelled on B", tally.Summary());
        report.Figure($"{label}: {CancelStopped}", CancelTally.Percentiles(tally.Stopped));
        report.Figure($"{label}: {CancelStored}", CancelTally.Percentiles(tally.Stored));
        report.Figure($"{label}: CancelReply on B, call to return", CancelTally.Percentiles(tally.Returned));
        if (tally.TextMismatchSample is { } text)
        {
            report.Notes.Add($"{label}: first text mismatch: {text}");
        }

        foreach (var (kind, detail) in tally.ProblemSamples)
        {
            report.Notes.Add($"{label}: {kind}: {detail}");
        }

        var allCancelled = tally.Replies > 0 && tally.Cancelled == tally.Replies;
        report.Targets.Add(new TargetCheck("CancelReply on B: every reply ends CANCELLED, and CancelReply's text = A's deltas = A's final turn",
            string.Create(CultureInfo.InvariantCulture,
                $"{tally.Correct} of {tally.Replies} ({tally.Replies - tally.Cancelled} not cancelled, {tally.TextMismatches} text mismatches)"),
            allCancelled && tally.Correct == tally.Replies));
        report.Targets.Add(new TargetCheck($"CancelReply on B: A stops within {CancelStopTargetMs:0} ms (p99)",
            string.Create(CultureInfo.InvariantCulture,
                $"p99 {tally.Stopped.P99:0.###} ms (p50 {tally.Stopped.P50:0.###}, max {tally.Stopped.Max:0.###}) over {tally.Stopped.Count} of {tally.Replies} replies; " +
                $"stored (A's failed CANCELLED) within p99 {tally.Stored.P99:0.###} ms (max {tally.Stored.Max:0.###})"),
            allCancelled && tally.Stopped.P99 <= CancelStopTargetMs));
    }

    /// <summary>
    /// <see cref="CancelCallers"/> callers take the chats one after the other: each sends a message on A,
    /// and cancels its reply on B once A's stream has delivered <see cref="DeltasBeforeCancel"/> deltas.
    /// </summary>
    private static async Task<IReadOnlyList<CancelledReply>> SendAndCancelAsync(ChannelPool senders, ChannelPool cancellers, IReadOnlyList<BenchChat> chats,
        TimeSpan streamLimit, CancellationToken cancellationToken)
    {
        var cancelled = new List<CancelledReply>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, CancelCallers).Select(i => Task.Run(async () =>
        {
            var sender = new ChatClient(senders.For(i));
            var canceller = new ChatClient(cancellers.For(i));
            var random = new Random(i);
            for (var j = Interlocked.Increment(ref next); j < chats.Count; j = Interlocked.Increment(ref next))
            {
                var reply = await CancelAfterDeltasAsync(sender, canceller, chats[j], SampleText.UserMessage(random), streamLimit, cancellationToken);
                lock (cancelled)
                {
                    cancelled.Add(reply);
                }
            }
        }, cancellationToken)));
        return cancelled;
    }

    /// <summary>
    /// Sends one message on A and reads its stream; once that has delivered <see cref="DeltasBeforeCancel"/>
    /// deltas, cancels the reply with CancelReply on B. Returns when both the call and the stream have ended.
    /// </summary>
    private static async Task<CancelledReply> CancelAfterDeltasAsync(ChatClient sender, ChatClient canceller, BenchChat chat, string text,
        TimeSpan streamLimit, CancellationToken cancellationToken)
    {
        var send = new SendMessageRequest { ChatId = chat.ChatId, Text = text, RequestId = Guid.NewGuid().ToString("N") };
        var reference = ReplyTrace.Start(ct => sender.SendMessage(send, chat.Headers, cancellationToken: ct), streamLimit, retryBeforeFirstEvent: true, cancellationToken);
        if (await reference.Accepted is not { } accepted || !await reference.DeltasReceived(DeltasBeforeCancel))
        {
            await reference.Done;
            return new CancelledReply(reference, Called: null, Returned: null, Turn: null, CallProblem: null);
        }

        var cancel = new CancelReplyRequest { ChatId = accepted.ChatId, Seq = accepted.Seq, CandidateId = accepted.CandidateId };
        var called = Stopwatch.GetTimestamp();
        CancelledReply result;
        try
        {
            var turn = await canceller.CancelReplyAsync(cancel, chat.Headers, deadline: DateTime.UtcNow + streamLimit, cancellationToken: cancellationToken);
            result = new CancelledReply(reference, called, Stopwatch.GetTimestamp(), turn, CallProblem: null);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            result = new CancelledReply(reference, called, Returned: null, Turn: null, CallProblem: $"{ex.StatusCode}: {ex.Status.Detail}");
        }

        await reference.Done;
        return result;
    }

    /// <summary>
    /// <see cref="BenchOptions.FanOutReplies"/> replies sent on A (at most <see cref="BenchOptions.OpenConcurrency"/>
    /// awaiting Accepted at once), each followed by <see cref="BenchOptions.FollowersPerReply"/> StreamReply calls on B;
    /// B's RSS sampled meanwhile.
    /// </summary>
    private static async Task MeasureFanOutAsync(ServiceProcess a, ServiceProcess b, ConnectionMultiplexer redis, IReadOnlyList<BenchChat> chats,
        BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        var replies = options.FanOutReplies;
        var perReply = options.FollowersPerReply;
        var total = replies * perReply;
        Console.WriteLine($"[{report.Scenario}] fan-out: {replies} replies on A, {perReply} followers each on B ({total} streams)");
        using var senderPool = new ChannelPool(a.GrpcAddress, replies, StreamsPerChannel);
        using var followerPool = new ChannelPool(b.GrpcAddress, total, StreamsPerChannel);
        await Task.WhenAll(senderPool.ConnectAllAsync(cancellationToken), followerPool.ConnectAllAsync(cancellationToken));
        var senders = Enumerable.Range(0, senderPool.Count).Select(i => new ChatClient(senderPool.For(i))).ToArray();
        var followers = Enumerable.Range(0, followerPool.Count).Select(i => new ChatClient(followerPool.For(i))).ToArray();

        var rssBefore = ProcessProbe.Memory(b.Pid).Rss;
        var progress = new FanOutProgress(total);
        using var stopSampling = new CancellationTokenSource();
        var sampler = progress.SampleAsync(b.Pid, stopSampling.Token);

        var followed = new FollowedReply[replies];
        var streamLimit = StreamLimit(FanOutHold(options));
        var meter = await FollowCostMeter.StartAsync(a, b, redis, cancellationToken);
        var started = Stopwatch.GetTimestamp();
        using var opening = new SemaphoreSlim(options.OpenConcurrency);
        var sends = new List<Task>(replies);
        for (var j = 0; j < replies; j++)
        {
            await opening.WaitAsync(cancellationToken);
            var index = j;
            var random = new Random(index);
            ChatClient[] crossReplica = [.. Enumerable.Range(index * perReply, perReply).Select(f => followers[f % followers.Length])];
            sends.Add(Task.Run(async () =>
            {
                followed[index] = await FollowReplyAsync(senders[index % senders.Length], chats[index], SampleText.UserMessage(random), [], crossReplica,
                    streamLimit, accepted: () => opening.Release(), progress.FollowersChanged, cancellationToken);
                progress.ReplyEnded();
            }, cancellationToken));
        }

        await Task.WhenAll(sends);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var cost = await meter.StopAsync(cancellationToken);
        await stopSampling.CancelAsync();
        await sampler;
        var after = ProcessProbe.Memory(b.Pid);

        const string label = "fan-out";
        var (references, _, cross) = Tally(followed, samePerReply: 0, crossPerReply: perReply);
        report.Add(Run($"fan-out: SendMessage on A, {perReply} StreamReply on B each", replies, seconds, references, [(CrossReplicaDelay, cross)], cost.Cpu));
        report.Figure($"{label}: replies sent on A (SendMessage)", references.Summary());
        report.Figure($"{label}: followers (StreamReply on B)", cross.Summary());
        report.Figure($"{label}: followers open at once on B", string.Create(CultureInfo.InvariantCulture,
            $"{progress.PeakOpen} at the peak of {total} ({options.OpenConcurrency} SendMessage calls awaiting Accepted at once, replies of up to {FanOutHold(options).TotalSeconds:0} s)"));
        report.Figure($"{label}: B's memory (RSS)", string.Create(CultureInfo.InvariantCulture,
            $"{BenchReport.Mib(rssBefore)} before, peak sampled {BenchReport.Mib(progress.PeakRss)}, {BenchReport.Mib(after.Rss)} after; VmHWM {BenchReport.Mib(after.PeakRss)}"));
        cost.AddTo(report, label, cross.Deltas, references.ReplySeconds);
        AddSamples(report, label, cross);
        AddIssue12Targets(report, label, cross, cost);
    }

    /// <summary>
    /// Sends one message and follows its reply: the SendMessage stream is the reference; once it says
    /// Accepted (<paramref name="accepted"/> is called then, or when the send failed before it), every
    /// follower calls StreamReply for the reply from after that event. Returns when every stream has ended
    /// (each within <paramref name="streamLimit"/>).
    /// </summary>
    private static async Task<FollowedReply> FollowReplyAsync(ChatClient sender, BenchChat chat, string text, IReadOnlyList<ChatClient> sameReplica,
        IReadOnlyList<ChatClient> crossReplica, TimeSpan streamLimit, Action? accepted, Action<int>? followersChanged, CancellationToken cancellationToken)
    {
        var send = new SendMessageRequest { ChatId = chat.ChatId, Text = text, RequestId = Guid.NewGuid().ToString("N") };
        var reference = ReplyTrace.Start(ct => sender.SendMessage(send, chat.Headers, cancellationToken: ct), streamLimit, retryBeforeFirstEvent: true, cancellationToken);
        var acceptedEvent = await reference.Accepted;
        accepted?.Invoke();
        if (acceptedEvent is null)
        {
            await reference.Done;
            return new FollowedReply(reference, [], []);
        }

        var follow = new StreamReplyRequest { ChatId = acceptedEvent.ChatId, Seq = acceptedEvent.Seq, CandidateId = acceptedEvent.CandidateId, AfterSequence = AfterSequence };
        ReplyTrace Follow(ChatClient client)
        {
            followersChanged?.Invoke(+1);
            return ReplyTrace.Start(ct => client.StreamReply(follow, chat.Headers, cancellationToken: ct), streamLimit, retryBeforeFirstEvent: false, cancellationToken);
        }

        List<ReplyTrace> same = [.. sameReplica.Select(Follow)];
        List<ReplyTrace> cross = [.. crossReplica.Select(Follow)];
        await Task.WhenAll(same.Concat(cross).Select(async trace =>
        {
            try
            {
                await trace.Done;
            }
            finally
            {
                followersChanged?.Invoke(-1);
            }
        }).Append(reference.Done));
        return new FollowedReply(reference, same, cross);
    }

    /// <summary>The replies' streams tallied; followers of a reply whose send was never accepted count as not started.</summary>
    private static (ReferenceTally References, FollowTally Same, FollowTally Cross) Tally(IEnumerable<FollowedReply> followed, int samePerReply, int crossPerReply)
    {
        var references = new ReferenceTally();
        var same = new FollowTally("StreamReply on A");
        var cross = new FollowTally("StreamReply on B");
        foreach (var reply in followed)
        {
            references.Add(reply.Reference);
            same.AddNotStarted(samePerReply - reply.SameReplica.Count);
            cross.AddNotStarted(crossPerReply - reply.CrossReplica.Count);
            foreach (var follower in reply.SameReplica)
            {
                same.Add(reply.Reference, follower, AfterSequence);
            }

            foreach (var follower in reply.CrossReplica)
            {
                cross.Add(reply.Reference, follower, AfterSequence);
            }
        }

        return (references, same, cross);
    }

    /// <summary>
    /// The sender's streams as a run of the report (replies/s, each reply's SendMessage to its last event,
    /// failed streams by kind), with each path's delay per event as its further latencies.
    /// </summary>
    private static LoadResult Run(string name, int callers, double seconds, ReferenceTally references,
        IReadOnlyList<(string Metric, FollowTally Tally)> paths, CpuSplit cpu)
    {
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        var samples = new Dictionary<string, string>(StringComparer.Ordinal);
        void AddProblems(string who, IReadOnlyDictionary<string, long> problems, IReadOnlyDictionary<string, string> problemSamples)
        {
            foreach (var (kind, count) in problems)
            {
                errors[$"{who} {kind}"] = count;
                samples[$"{who} {kind}"] = problemSamples[kind];
            }
        }

        AddProblems("sender", references.Problems, references.ProblemSamples);
        foreach (var (_, tally) in paths)
        {
            AddProblems(tally.Path, tally.Problems, tally.ProblemSamples);
        }

        return new LoadResult(name, callers, references.Completed, Math.Round(seconds, 3), Math.Round(references.Completed / seconds, 1),
            references.Duration, errors, samples, paths.ToDictionary(p => p.Metric, p => p.Tally.Delay, StringComparer.Ordinal), cpu);
    }

    private static void AddSamples(BenchReport report, string label, FollowTally tally)
    {
        if (tally.SequenceMismatchSample is { } sequences)
        {
            report.Notes.Add($"{label}, {tally.Path}: first sequence mismatch: {sequences}");
        }

        if (tally.TextMismatchSample is { } text)
        {
            report.Notes.Add($"{label}, {tally.Path}: first text mismatch: {text}");
        }

        foreach (var (kind, detail) in tally.ProblemSamples)
        {
            report.Notes.Add($"{label}, {tally.Path}: {kind}: {detail}");
        }
    }

    private static TargetCheck Correct(FollowTally tally, string target) => new(target,
        string.Create(CultureInfo.InvariantCulture,
            $"{tally.Correct} of {tally.Planned} ({tally.SequenceMismatches} sequence, {tally.TextMismatches} text mismatches, {tally.Followers - tally.Completed} not completed, {tally.NotStarted} not started)"),
        tally.Planned > 0 && tally.Correct == tally.Planned);

    /// <summary>What issue 12 promises of a follower on another replica: the same sequences as on the generating one, and no Spanner reads.</summary>
    private static void AddIssue12Targets(BenchReport report, string label, FollowTally cross, FollowCost cost)
    {
        report.Targets.Add(Correct(cross, $"cross-replica followers: the sender's sequences and text ({label})"));
        var reads = cost.B["spanner_client_reads_total"];
        report.Targets.Add(new TargetCheck($"no Spanner reads on B while following ({label})",
            string.Create(CultureInfo.InvariantCulture, $"{reads:0} single-use reads, {cost.B["spanner_client_queries_total"]:0} queries"),
            cost.B.Has("spanner_client_reads_total") && reads == 0));
    }

    private static void AddNotes(BenchOptions options, BenchReport report)
    {
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"A and B: two service processes on one database and the stack's Redis Cluster (Chat:ReplicaId follow-a and follow-b). Simulated backend: first token after " +
            $"{options.TimeToFirstToken.TotalMilliseconds:0} ms, {options.MinTokens}-{options.MaxTokens} tokens per reply, {options.TokensPerSecond:0.#} tokens/s in the " +
            $"delay part and {options.MaxTokens / (FanOutHold(options) - options.TimeToFirstToken).TotalSeconds:0.##} tokens/s in the fan-out (its chats' character is on " +
            $"route '{FanOutRoute}', so that the longest reply takes --hold {FanOutHold(options).TotalSeconds:0} s and the replies outlast their opening: every SendMessage " +
            $"is a read-write transaction of the emulator, which runs one at a time)."));
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"B's recovery sweep is off (its reads would count as the followers'); A's runs every 5 s and takes over a reply whose settle gave up. " +
            $"Backend and dispatch capacity raised so no reply waits. A SendMessage that fails with a transient status before any event is made again with " +
            $"its request id (as the API asks of clients); every stream has {StreamLimit(LongestReply(options)).TotalSeconds:0} s (fan-out: " +
            $"{StreamLimit(FanOutHold(options)).TotalSeconds:0} s) to reach its final event, or it counts as {ReplyTrace.TimedOut}."));
        report.Notes.Add("Delay of a follower for a sequence: its arrival time minus the sender's stream's arrival time for the same sequence, both on the bench's one " +
            "Stopwatch clock; only sequences both streams received count, and an event that reached the follower first counts as 0 ms. Followers call " +
            $"StreamReply(after_sequence {AfterSequence}) as soon as the sender's stream shows Accepted, so an event published before a follower's call is served " +
            "(often Started) is caught up, and its delay includes the call's setup.");
        report.Notes.Add("Checks: a follower's sequences must be exactly the sender's after Accepted, and its deltas after the last Restarted must add up to the " +
            "sender's completed turn (and its own Completed turn must be that text).");
        report.Notes.Add("Reply-seconds: per reply, the sender's stream from Accepted to its last event, summed. Redis figures: INFO commandstats and INFO cpu of the " +
            "primaries before and after each window (the after reading once A has settled its replies); they hold everything the cluster did meanwhile: the sends' own " +
            "history-cache scripts (3 EVALSHA per exchange, docs/capacity.md, each also counted as the commands it runs) and the services' health pings. " +
            $"Not counted: {string.Join(", ", RedisClusterStats.NotCounted.Order(StringComparer.Ordinal))} (replication and the bench's own readings). Redis CPU " +
            "includes the primaries' idle background work (serverCron), which dominates a small run.");
        report.Notes.Add("B's CPU: /proc/<pid>/stat of B over each window; 'per second per B core' is the delta events B's followers received divided by B's CPU " +
            "seconds. Spanner on B: deltas of B's spanner_client_reads_total (single-use reads), spanner_client_queries_total and spanner_client_commits_total " +
            "on /metrics around the window; B serves nothing but the followers (its health check's SELECT 1 is not counted as a read).");
        report.Notes.Add("All streams are read by the bench process, which shares the machine's cores with A, B, Redis and the emulator (see the CPU columns): " +
            "its own scheduling is part of every delay, most of all in the fan-out.");
        var slowest = options.Cancels <= 50 ? $" With {options.Cancels} replies, p99 is the slowest one." : "";
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"Cancel part: {options.Cancels} replies on route '{CancelRoute}' (the delay part's pace, {CancelTokens} tokens: " +
            $"{UncancelledReply(options).TotalSeconds:0.#} s if nothing cancels them), {CancelCallers} callers at once, each on chats of its own and one reply " +
            $"after the other (after an unrecorded round per caller when there is a warm-up): SendMessage on A read by the bench; once it has delivered " +
            $"{DeltasBeforeCancel} deltas, CancelReply(chat, seq, candidate) on B. Times from the CancelReply call, on the bench's one clock: to the last delta " +
            $"A's stream delivers after the call, or to A's final failed event when none does (A stops); to A's failed CANCELLED event, which A sends once the " +
            $"partial text is stored (stored); to CancelReply's return on B. A reply counts as cancelled when A's stream ended failed CANCELLED and CancelReply " +
            $"returned a CANCELLED turn; its texts must agree: A's deltas (after the last Restarted), A's failed turn and CancelReply's turn.{slowest}"));
    }

    /// <summary>A reply's streams: the sender's (the reference) and its followers on the generating replica and on the other one.</summary>
    private sealed record FollowedReply(ReplyTrace Reference, IReadOnlyList<ReplyTrace> SameReplica, IReadOnlyList<ReplyTrace> CrossReplica);

    /// <summary>The delay part's three kinds of client, each on channels of its own: senders on A, followers on A, followers on B.</summary>
    private sealed class DelayClients : IDisposable
    {
        private DelayClients(ChannelPool senders, ChannelPool sameReplica, ChannelPool crossReplica) =>
            (Senders, SameReplica, CrossReplica) = (senders, sameReplica, crossReplica);

        public ChannelPool Senders { get; }

        public ChannelPool SameReplica { get; }

        public ChannelPool CrossReplica { get; }

        /// <summary>Pools for <paramref name="callers"/> callers of each kind, their first connections open.</summary>
        public static async Task<DelayClients> ConnectAsync(ServiceProcess a, ServiceProcess b, int callers, int callersPerChannel, CancellationToken cancellationToken)
        {
            var clients = new DelayClients(
                new ChannelPool(a.GrpcAddress, callers, callersPerChannel),
                new ChannelPool(a.GrpcAddress, callers, callersPerChannel),
                new ChannelPool(b.GrpcAddress, callers, callersPerChannel));
            try
            {
                await Task.WhenAll(clients.Senders.ConnectAllAsync(cancellationToken), clients.SameReplica.ConnectAllAsync(cancellationToken),
                    clients.CrossReplica.ConnectAllAsync(cancellationToken));
                return clients;
            }
            catch
            {
                clients.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Senders.Dispose();
            SameReplica.Dispose();
            CrossReplica.Dispose();
        }
    }
}
