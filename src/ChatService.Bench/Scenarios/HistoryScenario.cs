using System.Globalization;
using ChatService.Api.V1;
using ChatService.Bench.Baselines;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using ChatService.Bench.Profiling;
using ChatService.Bench.Reporting;
using ChatService.Testing;
using Google.Protobuf;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>history-hot</c>: GetHistory (first page of 20) on random warm chats, with the bare gRPC and raw
/// Redis baselines measured right after at the same concurrency. <c>history-cold</c>: the same with the
/// cache off (<c>Redis:Endpoints</c> empty), so every read goes to Spanner.
/// </summary>
internal static class HistoryScenario
{
    public const int PageSize = 20;
    private const int TargetCallers = 16;
    private const double TargetRatio = 0.8;
    private const double TargetP99Ms = 2.0;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task RunAsync(BenchOptions options, BenchReport report, bool warmCache, CancellationToken cancellationToken)
    {
        if (options.TraceDirectory is not null)
        {
            // Before the setup: a missing tool should not cost a minute of seeding first.
            _ = options.Profiler == "perf" ? PerfProfile.FindTool() : DotnetTraceProfile.FindTool();
            Directory.CreateDirectory(options.TraceDirectory);
        }

        await using var history = await SetUpAsync(options, report, warmCache, cancellationToken);
        var label = !warmCache ? "service GetHistory (no cache, Spanner)"
            : options.NearCache ? "service GetHistory (warm cache)"
            : "service GetHistory (warm cache, near cache off)";
        var payloads = new BaselinePayloads(history.Pages);
        foreach (var callers in options.Concurrency)
        {
            Console.WriteLine($"[{report.Scenario}] {callers} callers");
            var measured = await MeasureAsync(history, label, callers, options, report, trace: options.TraceDirectory is not null, cancellationToken);
            if (!warmCache || !options.Baselines)
            {
                continue;
            }

            var bare = await BareGrpcBaseline.RunAsync(payloads, redis: null, history.Chats, callers, options, cancellationToken);
            report.Add(bare);
            await using var redisPages = await RedisPages.CreateAsync(payloads, history.Chats);
            var redis = await RedisBaseline.RunAsync(redisPages, callers, options, cancellationToken);
            report.Add(redis);
            var floor = await BareGrpcBaseline.RunAsync(payloads, redisPages, history.Chats, callers, options, cancellationToken);
            report.Add(floor);
            report.Figure($"ratios at {callers} callers", string.Create(CultureInfo.InvariantCulture,
                $"service/bare gRPC throughput {measured.Throughput / bare.Throughput:0.00}, p50 {measured.Latency.P50 / bare.Latency.P50:0.00}x, p99 {measured.Latency.P99 / bare.Latency.P99:0.00}x; service/raw Redis throughput {measured.Throughput / redis.Throughput:0.00}, p50 {measured.Latency.P50 / redis.Latency.P50:0.00}x; service/(gRPC + Redis GET) throughput {measured.Throughput / floor.Throughput:0.00}, p50 {measured.Latency.P50 / floor.Latency.P50:0.00}x, p99 {measured.Latency.P99 / floor.Latency.P99:0.00}x"));
            if (callers == TargetCallers)
            {
                var ratio = measured.Throughput / bare.Throughput;
                report.Targets.Add(new TargetCheck(
                    $"history-hot throughput >= {TargetRatio}x bare gRPC at {TargetCallers} callers",
                    string.Create(CultureInfo.InvariantCulture, $"{ratio:0.00}x ({measured.Throughput:0}/s vs {bare.Throughput:0}/s)"),
                    ratio >= TargetRatio));
                report.Targets.Add(new TargetCheck(
                    $"history-hot p99 <= {TargetP99Ms} ms at {TargetCallers} callers",
                    string.Create(CultureInfo.InvariantCulture, $"{measured.Latency.P99:0.###} ms"),
                    measured.Latency.P99 <= TargetP99Ms && measured.ErrorCount == 0));
            }
        }
    }

    /// <summary>
    /// Starts the service, seeds the chats and reads each one's first page once: with the cache on
    /// that warms its window, and the pages are the bytes the baselines serve. With
    /// <paramref name="warmCache"/> false the same database is then served by a service with the cache off.
    /// </summary>
    public static async Task<WarmHistory> SetUpAsync(BenchOptions options, BenchReport report, bool warmCache, CancellationToken cancellationToken)
    {
        // Seeding goes through the cache either way: it is much faster than with every prompt window read from the emulator.
        var settings = ServiceSettings.RealisticTurnsFastBackend();
        if (options.TraceDirectory is not null && options.Profiler == "perf")
        {
            // Plain environment variables: no ':' in their names.
            foreach (var (name, value) in PerfProfile.ServiceEnvironment)
            {
                settings[name] = value;
            }
        }

        if (!options.NearCache)
        {
            settings["Redis:NearCacheBytes"] = "0";
        }

        var database = await BenchDatabase.ReserveAsync();
        Console.WriteLine($"[{report.Scenario}] starting the service (cache on)");
        ServiceProcess? service = null;
        try
        {
            service = await BenchService.StartAsync(settings, database, cancellationToken);
            var exchanges = Math.Max(1, options.TurnsPerChat / 2);
            Console.WriteLine($"[{report.Scenario}] seeding {options.Chats} chats x {exchanges} exchanges");
            var seedStarted = DateTime.UtcNow;
            IReadOnlyList<BenchChat> chats;
            using (var setup = new ChannelPool(service.GrpcAddress, 8, 8))
            {
                chats = await ChatSeeder.SeedAsync(setup.For(0), options.Chats, exchanges, concurrency: 8, cancellationToken);
            }

            report.Figure("setup", $"{options.Chats} chats x (greeting + {exchanges} exchanges) in {(DateTime.UtcNow - seedStarted).TotalSeconds:0.0} s");
            if (!warmCache)
            {
                // The same database, served by a service with the cache off.
                Console.WriteLine($"[{report.Scenario}] restarting the service with the cache off");
                await service.DisposeAsync();
                service = null;
                settings["Redis:Endpoints"] = "";
                service = await BenchService.StartAsync(settings, database, cancellationToken);
            }

            // One GetHistory each: warms the cache and gives the baselines the very same bytes.
            var pages = new List<byte[]>(chats.Count);
            using (var warm = new ChannelPool(service.GrpcAddress, 1, 1))
            {
                var client = new ChatClient(warm.For(0));
                foreach (var chat in chats)
                {
                    var page = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = PageSize }, chat.Headers, cancellationToken: cancellationToken);
                    pages.Add(page.ToByteArray());
                }

                var sample = GetHistoryResponse.Parser.ParseFrom(pages[0]);
                var turns = pages.Select(GetHistoryResponse.Parser.ParseFrom).SelectMany(p => p.Turns).ToList();
                report.Figure("history page", string.Create(CultureInfo.InvariantCulture,
                    $"{sample.Turns.Count} turns, {pages.Average(p => p.Length):0} bytes on average; user turns {turns.Where(t => t.Role == AuthorRole.User).Average(t => t.Text.Length):0} chars, replies {turns.Where(t => t.Role == AuthorRole.Character).Average(t => t.Text.Length):0} chars on average"));
            }

            return new WarmHistory(service, database, chats, pages);
        }
        catch
        {
            if (service is not null)
            {
                await service.DisposeAsync();
            }

            await database.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// GetHistory (first page) on random chats of <paramref name="history"/> by <paramref name="callers"/>
    /// closed-loop callers, with the service's Spanner and cache counters over the warm-up and window;
    /// with <paramref name="trace"/>, a CPU sample trace of the service over the window (to
    /// <see cref="BenchOptions.TraceDirectory"/>) and the service's CPU per call by component.
    /// </summary>
    public static async Task<LoadResult> MeasureAsync(
        WarmHistory history, string label, int callers, BenchOptions options, BenchReport report, bool trace, CancellationToken cancellationToken)
    {
        var service = history.Service;
        var chats = history.Chats;
        var expectedTurns = history.ExpectedTurns;
        using var pool = new ChannelPool(service.GrpcAddress, callers, options.CallersPerChannel);
        await pool.ConnectAllAsync(cancellationToken);
        var clients = Enumerable.Range(0, callers).Select(i => new ChatClient(pool.For(i))).ToArray();
        var errorsBefore = service.ErrorLogs;
        var metricsBefore = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
        var calls = 0L;
        var tracePath = trace
            ? Path.Combine(options.TraceDirectory!, $"{report.Scenario}-{callers}-callers-{DateTime.UtcNow:yyyyMMdd-HHmmss}.{(options.Profiler == "perf" ? "perf.data" : "nettrace")}")
            : null;
        var capture = tracePath is null ? null
            : options.Profiler == "perf" ? PerfProfile.CaptureAsync(service.Pid, tracePath, options.Warmup, options.Duration, cancellationToken)
            : DotnetTraceProfile.CaptureAsync(service.Pid, tracePath, options.Warmup, options.Duration, cancellationToken);
        var measured = await ClosedLoop.RunAsync(label, callers, options.Warmup, options.Duration, async (caller, ct) =>
        {
            Interlocked.Increment(ref calls);
            var chat = chats[caller.Random.Next(chats.Count)];
            var page = await clients[caller.Index].GetHistoryAsync(
                new GetHistoryRequest { ChatId = chat.ChatId, PageSize = PageSize }, chat.Headers, cancellationToken: ct);
            if (page.Turns.Count != expectedTurns)
            {
                throw new InvalidOperationException($"expected {expectedTurns} turns, got {page.Turns.Count}");
            }
        }, service.Pid, cancellationToken);
        report.Add(measured);
        if (capture is not null)
        {
            // Analysed before the baselines run, so that reading the trace does not take their CPU.
            Console.WriteLine($"[{report.Scenario}] reading the trace {tracePath}");
            var analyze = await capture;
            report.Profiles.Add(await analyze(measured));
        }

        var metricsAfter = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
        double Delta(string metric) => metricsAfter[metric] - metricsBefore[metric];
        report.Figure($"service metrics over the {callers}-caller warm-up and window", string.Create(CultureInfo.InvariantCulture,
            $"{calls} GetHistory calls: Spanner single-use reads {Delta("spanner_client_reads_total"):0} (the recovery sweep reads once per 5 s), " +
            $"commits {Delta("spanner_client_commits_total"):0}; cache hits {Delta("chat_cache_hits_total"):0}, misses {Delta("chat_cache_misses_total"):0}, " +
            $"fallbacks {Delta("chat_cache_fallbacks_total"):0}"));
        if (service.ErrorLogs != errorsBefore)
        {
            report.Notes.Add($"the service logged {service.ErrorLogs - errorsBefore} errors during the {callers}-caller run");
        }

        return measured;
    }

    /// <summary>The service with seeded chats whose first pages were read once; disposing it stops the service and drops its database.</summary>
    internal sealed class WarmHistory(ServiceProcess service, BenchDatabase database, IReadOnlyList<BenchChat> chats, IReadOnlyList<byte[]> pages) : IAsyncDisposable
    {
        public ServiceProcess Service { get; } = service;

        public IReadOnlyList<BenchChat> Chats { get; } = chats;

        /// <summary>Each chat's first page as the service serialized it, in chat order.</summary>
        public IReadOnlyList<byte[]> Pages { get; } = pages;

        /// <summary>Turns on a first page (the same for every chat).</summary>
        public int ExpectedTurns { get; } = GetHistoryResponse.Parser.ParseFrom(pages[0]).Turns.Count;

        public async ValueTask DisposeAsync()
        {
            await Service.DisposeAsync();
            await database.DisposeAsync();
        }
    }
}
