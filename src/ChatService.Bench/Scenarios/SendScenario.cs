using System.Collections.Concurrent;
using System.Globalization;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using ChatService.Bench.Reporting;
using ChatService.Testing;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>send</c>: each caller on its own chat does full exchanges (SendMessage read to Completed) with a
/// simulated backend of known pacing, so what the client sees beyond that pacing is the service's.
/// </summary>
internal static class SendScenario
{
    private static readonly TimeSpan BackendTtft = TimeSpan.FromMilliseconds(50);
    private const double TokensPerSecond = 200;
    private const double TargetSlackMs = 2.0;
    private const string AcceptedMetric = "accepted (recording commit)";
    private const string OverheadMetric = "TTFT overhead (first delta - backend TTFT)";
    private const string AfterCommitMetric = "TTFT overhead - commit (first delta - accepted - backend TTFT)";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        var settings = ServiceSettings.SimulatedBackend(BackendTtft, TokensPerSecond, minTokens: 20, maxTokens: 40);
        // Nothing crashes here, so no recovery sweep: its one read per interval would blur the reads per exchange.
        settings["Dispatch:SweepInterval"] = "01:00:00";
        settings["Summary:SweepInterval"] = "01:00:00";
        // Nor the other readers on a timer of their own (the health poller, every 5 s, and the catalog
        // backfill's rounds): their reads are not the exchanges', and would show as a few reads per run.
        settings["Health:Period"] = "01:00:00";
        settings["Chat:CatalogBackfillInterval"] = "01:00:00";
        // The data-deletion sweep reads Spanner every DataDeletion:SweepInterval (30 s): about one read per run.
        settings["DataDeletion:SweepInterval"] = "01:00:00";
        // Each reply's stages before its first delta, by wall clock (a histogram with fine buckets; off in production).
        settings[StageBreakdown.Setting] = "true";
        // A reply's logged backend time starts before it takes a slot of the backend's concurrency limit: no
        // caller may wait for one, or that wait would be subtracted as the backend's.
        settings["Inference:Backends:sim:MaxConcurrency"] = Math.Max(256, 2 * options.Concurrency.Max()).ToString(CultureInfo.InvariantCulture);
        Console.WriteLine($"[{report.Scenario}] starting the service");
        await using var database = await BenchDatabase.ReserveAsync();
        await using var service = await BenchService.StartAsync(settings, database, cancellationToken);

        foreach (var callers in options.Concurrency)
        {
            Console.WriteLine($"[{report.Scenario}] {callers} callers: creating their chats");
            using var pool = new ChannelPool(service.GrpcAddress, callers, options.CallersPerChannel);
            await pool.ConnectAllAsync(cancellationToken);
            var chats = await ChatSeeder.SeedAsync(pool.For(0), callers, exchanges: 0, concurrency: 8, cancellationToken);
            var clients = Enumerable.Range(0, callers).Select(i => new ChatClient(pool.For(i))).ToArray();
            // Warm chats: reading each one's history caches its window, so no exchange below reads it from Spanner
            // (each reply still reads its definitions: the characters' versions and the user's persona).
            await Task.WhenAll(chats.Select((chat, i) => clients[i].GetHistoryAsync(
                new Api.V1.GetHistoryRequest { ChatId = chat.ChatId }, chat.Headers, cancellationToken: cancellationToken).ResponseAsync));
            // Warm their definitions too: a chat's first reply reads the cast's and the persona's versions once,
            // then keeps them in this replica's memory under tokens in Redis. Those copies are not forever: a token
            // lives at most Redis:DefinitionTokenTtl (10 min), and each replica and each speaker has its own copy,
            // so a chat in production pays about one such read per replica, speaker and 10 minutes of use (a note
            // in the report says so; these runs are shorter than that). And let the chat-count folds
            // CreateChat scheduled (Chat:ChatCountFoldInterval after it, a read and a commit each) land before
            // the counting starts: neither belongs to a warm exchange, and both showed as a residue per run.
            await Task.WhenAll(chats.Select((chat, i) => Exchange.RunAsync(clients[i], chat, "Hello.", cancellationToken)));
            var (metricsBefore, quiet) = await QuietAsync(service, cancellationToken);
            if (!quiet)
            {
                report.Notes.Add($"before the {callers}-caller run the service's Spanner counters were still moving after 30 s of waiting: its figures may include warm-up work");
            }
            var errorsBefore = service.ErrorLogs;
            var started = 0L;
            var measured = new ConcurrentQueue<(BenchChat Chat, ExchangeTimings Timings)>();
            var result = await ClosedLoop.RunAsync("SendMessage exchange", callers, options.Warmup, options.Duration, async (caller, ct) =>
            {
                Interlocked.Increment(ref started);
                var timings = await Exchange.RunAsync(clients[caller.Index], chats[caller.Index], SampleText.UserMessage(caller.Random), ct);
                caller.Record(AcceptedMetric, timings.Accepted);
                caller.Record("first delta", timings.FirstDelta);
                caller.Record(OverheadMetric, timings.FirstDelta - BackendTtft);
                caller.Record(AfterCommitMetric, timings.FirstDelta - timings.Accepted - BackendTtft);
                if (caller.Measuring)
                {
                    measured.Enqueue((chats[caller.Index], timings));
                }
            }, service.Pid, cancellationToken);
            report.Add(result);
            await ReportSpannerCostAsync(service, report, callers, metricsBefore, Interlocked.Read(ref started), cancellationToken);
            if (service.ErrorLogs != errorsBefore)
            {
                report.Notes.Add($"the service logged {service.ErrorLogs - errorsBefore} errors during the {callers}-caller run");
            }

            var accepted = result.Extra.GetValueOrDefault(AcceptedMetric);
            var overhead = result.Extra.GetValueOrDefault(OverheadMetric);
            var afterCommit = result.Extra.GetValueOrDefault(AfterCommitMetric);
            if (accepted is not null && overhead is not null && afterCommit is not null)
            {
                report.Figure($"exchanges/s at {callers} callers", string.Create(CultureInfo.InvariantCulture,
                    $"{result.Throughput:0.0} (each is 2 commits: the recorded turns, then the stored reply)"));
                // Per exchange, not p50(overhead) - p50(commit): the difference of two medians is not a median.
                report.Figure($"TTFT overhead - commit at {callers} callers, the nominal {BackendTtft.TotalMilliseconds:0} ms subtracted", string.Create(CultureInfo.InvariantCulture,
                    $"p50 {afterCommit.P50:0.###} ms, p90 {afterCommit.P90:0.###} ms (TTFT overhead p50 {overhead.P50:0.###} ms, commit p50 {accepted.P50:0.###} ms)"));
                await ReportServiceOverheadAsync(database, report, callers, measured, cancellationToken);
            }
        }

        report.Notes.Add("Not in these figures: a warm chat's definitions are re-read from Spanner about once per replica, speaker and " +
            "Redis:DefinitionTokenTtl (10 min) of use, when their tokens expire; every chat's definitions are warmed before counting, and each run is shorter than that.");
        report.Notes.Add("Spanner commits and reads per exchange: deltas of the service's spanner_client_commits_total and spanner_client_reads_total " +
            "(single-use reads) on /metrics around the warm-up and window, over the exchanges started in them (the recovery, summary and " +
            "data-deletion sweeps, the health poller and the catalog backfill, which read Spanner on timers of their own, are off for this scenario; " +
            "each chat's first exchange, which loads its definitions, and the chat-count folds of its creation are done before the counting starts; " +
            "the last exchange of each caller may have been cut off by the window's end).");
        report.Notes.Add("The emulator runs one read-write transaction at a time (others are aborted and retried with backoff): about 380 empty commits/s at best " +
            "on this machine, fewer for the service's transactions, which run queries inside; every exchange is two of them, so the emulator bounds exchanges/s here.");
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"Simulated backend: time to first token {BackendTtft.TotalMilliseconds:0} ms, {TokensPerSecond:0} tokens/s, 20-40 tokens per reply."));
    }

    /// <summary>
    /// The target's figure: per exchange, the time from Accepted to the first delta less the backend's own time to
    /// its first token as the service logged it for that reply (not the nominal time, which the simulated
    /// backend's timer overshoots). What is left is the service's: starting the worker, the window and
    /// definitions, the prompt, the router's start of the attempt, and carrying the first token to the caller.
    /// Some of the service's own work is inside the subtracted time (see <see cref="BackendFirstTokens"/>).
    /// </summary>
    private static async Task ReportServiceOverheadAsync(
        BenchDatabase database, BenchReport report, int callers, IReadOnlyCollection<(BenchChat Chat, ExchangeTimings Timings)> measured,
        CancellationToken cancellationToken)
    {
        var backend = await BackendFirstTokens.ReadAsync(database, [.. measured.Select(m => m.Chat.ChatId).Distinct()], cancellationToken);
        var service = LatencySummary.NewHistogram();
        var backendTimes = LatencySummary.NewHistogram();
        var unmatched = 0;
        var negative = 0;
        foreach (var (chat, timings) in measured)
        {
            if (!backend.TryGetValue(new(chat.ChatId, timings.ReplySeq, timings.ReplyCandidateId), out var firstToken))
            {
                unmatched++;
                continue;
            }

            var overhead = timings.FirstDelta - timings.Accepted - firstToken;
            negative += overhead < TimeSpan.Zero ? 1 : 0;
            service.RecordValue(LatencySummary.Micros(overhead));
            backendTimes.RecordValue(LatencySummary.Micros(firstToken));
        }

        if (negative > 0)
        {
            // The client's Accepted can arrive after the worker has started: such an exchange shows less than nothing.
            report.Notes.Add($"{negative} of the {callers}-caller run's matched exchanges came out below 0 ms of service overhead (the client saw Accepted late) and are counted as 0");
        }

        if (unmatched > 0)
        {
            report.Notes.Add($"{unmatched} of the {callers}-caller run's {measured.Count} exchanges have no single logged model call with a first token, and are left out of its service overhead");
        }

        if (service.TotalCount == 0)
        {
            report.Targets.Add(new TargetCheck($"TTFT overhead <= recording commit + {TargetSlackMs} ms, p50 ({callers} callers)", "no exchange to measure", false));
            return;
        }

        var own = LatencySummary.From(service);
        var model = LatencySummary.From(backendTimes);
        report.Figure($"simulated backend's own time to first token at {callers} callers (ModelCalls, nominal {BackendTtft.TotalMilliseconds:0} ms)",
            string.Create(CultureInfo.InvariantCulture, $"p50 {model.P50:0.###} ms, p90 {model.P90:0.###} ms over {model.Count} replies"));
        report.Targets.Add(new TargetCheck(
            $"TTFT overhead <= recording commit + {TargetSlackMs} ms, p50 ({callers} callers)",
            string.Create(CultureInfo.InvariantCulture,
                $"p50 of (first delta - accepted - the backend's own time to first token) per exchange {own.P50:0.###} ms (p90 {own.P90:0.###} ms, {own.Count} exchanges)"),
            own.P50 <= TargetSlackMs));
    }

    /// <summary>The service's metrics once its Spanner counters stood still for two seconds in a row (at most 30 s).</summary>
    private static async Task<(MetricsScrape Scrape, bool Quiet)> QuietAsync(ServiceProcess service, CancellationToken cancellationToken)
    {
        var last = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
        var still = 0;
        for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); still < 4 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            var next = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
            still = next["spanner_client_commits_total"] == last["spanner_client_commits_total"]
                && next["spanner_client_reads_total"] == last["spanner_client_reads_total"] ? still + 1 : 0;
            last = next;
        }

        return (last, still >= 4);
    }

    /// <summary>Spanner commits and single-use reads per exchange, from the service's own counters, once its replies have settled.</summary>
    private static async Task ReportSpannerCostAsync(
        ServiceProcess service, BenchReport report, int callers, MetricsScrape before, long exchanges, CancellationToken cancellationToken)
    {
        // Quiet first: calls cut off at the window's end may still be committing (the emulator aborts and
        // retries them) and their replies settling; counted later, they would land in the next run's figures.
        var after = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var next = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
            var quiet = next["chat_replies_owed"] == 0 && next["spanner_client_commits_total"] == after["spanner_client_commits_total"]
                && next["spanner_client_retries_total"] == after["spanner_client_retries_total"];
            after = next;
            if (quiet)
            {
                break;
            }
        }

        if (exchanges == 0 || !after.Has("spanner_client_commits_total") || !after.Has("spanner_client_reads_total"))
        {
            report.Notes.Add($"Spanner commits and reads per exchange at {callers} callers: not reported (no exchanges, or the counters are missing from /metrics)");
            return;
        }

        double Delta(string metric) => after[metric] - before[metric];
        StageBreakdown.Report(report, callers, before, after);

        // The rolling-summary job runs beside the replies (once per Summary:EveryTurns turns of a chat): its
        // commits are reported apart from the exchange's. Its reads are one snapshot per job (not single-use
        // reads), and a stored summary enters the chat's cached window in place, so the reads are not
        // adjusted: any window reload a summary caused would show here.
        var summaryCommits = Delta("chat_summary_commits_total");
        var summariesStored = Delta("chat_summary_stored_total");
        var commits = (Delta("spanner_client_commits_total") - summaryCommits) / exchanges;
        var reads = Delta("spanner_client_reads_total") / exchanges;
        report.Figure($"Spanner per exchange at {callers} callers (service metrics)", string.Create(CultureInfo.InvariantCulture,
            $"{commits:0.###} commits, {reads:0.###} single-use reads over {exchanges} exchanges"));
        report.Figure($"rolling summaries during the {callers}-caller run (service metrics, apart from the above)", string.Create(CultureInfo.InvariantCulture,
            $"{summariesStored:0} stored, {summaryCommits:0} job commits ({summaryCommits / exchanges:0.###} per exchange, " +
            $"{(summariesStored > 0 ? summaryCommits / summariesStored : 0):0.##} per summary), window loads from Spanner in the run {Delta("chat_cache_spanner_reads_total"):0}"));
        // The service's own CPU and allocations per exchange (the runtime's meters: whatever else the service did meanwhile, its
        // timers and the scrapes, is in them too, the same on every run): a load-independent measure of what an exchange costs it.
        var cpuMetric = after.NamesStartingWith("dotnet_process_cpu_time").FirstOrDefault();
        var allocatedMetric = after.NamesStartingWith("dotnet_gc_heap_total_allocated").FirstOrDefault();
        if (cpuMetric is not null && allocatedMetric is not null)
        {
            report.Figure($"service CPU and allocations per exchange at {callers} callers (service metrics)", string.Create(CultureInfo.InvariantCulture,
                $"{Delta(cpuMetric) * 1e6 / exchanges:0} µs CPU, {Delta(allocatedMetric) / exchanges / 1024:0.0} KiB allocated ({cpuMetric}, {allocatedMetric})"));
        }

        // Where extra reads or commits come from: windows not served by Redis, and transactions the emulator aborted.
        report.Figure($"cache and retries during the {callers}-caller run (service metrics)", string.Create(CultureInfo.InvariantCulture,
            $"window reads from Redis {Delta("chat_cache_hits_total"):0}, misses {Delta("chat_cache_misses_total"):0}, fallbacks {Delta("chat_cache_fallbacks_total"):0}, " +
            $"failed cache writes {Delta("chat_cache_write_failures_total"):0}; Spanner aborts {Delta("spanner_client_aborts_total"):0}, retries {Delta("spanner_client_retries_total"):0}"));
        report.Targets.Add(new TargetCheck($"warm chats: 0 Spanner reads, <= 2 commits per exchange ({callers} callers)",
            string.Create(CultureInfo.InvariantCulture, $"{reads:0.###} reads, {commits:0.###} commits"),
            reads < 0.01 && commits <= 2.0 + 0.01));
    }
}
