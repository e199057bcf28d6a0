using System.Globalization;
using ChatService.Bench.Load;
using ChatService.Bench.Reporting;
using ChatService.Testing;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>health</c>: the gRPC health service's Check (service <c>""</c>, readiness) at each concurrency,
/// right after a warm GetHistory at the same concurrency on the same service (the history-hot setup):
/// a Check should cost no more than a cached read, since it answers the last published health run
/// instead of querying Spanner and pinging Redis.
/// </summary>
internal static class HealthScenario
{
    private const int TargetCallers = 16;
    private const double TargetFactor = 2.0;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public static async Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        await using var history = await HistoryScenario.SetUpAsync(options, report, warmCache: true, cancellationToken);
        var service = history.Service;
        foreach (var callers in options.Concurrency)
        {
            Console.WriteLine($"[{report.Scenario}] {callers} callers: GetHistory");
            var read = await HistoryScenario.MeasureAsync(history, "service GetHistory (warm cache)", callers, options, report, trace: false, cancellationToken);

            Console.WriteLine($"[{report.Scenario}] {callers} callers: Health/Check");
            using var pool = new ChannelPool(service.GrpcAddress, callers, options.CallersPerChannel);
            await pool.ConnectAllAsync(cancellationToken);
            var clients = Enumerable.Range(0, callers).Select(i => new Health.HealthClient(pool.For(i))).ToArray();
            var request = new HealthCheckRequest();
            var errorsBefore = service.ErrorLogs;
            var metricsBefore = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
            var calls = 0L;
            var check = await ClosedLoop.RunAsync("service Health/Check (readiness)", callers, options.Warmup, options.Duration, async (caller, ct) =>
            {
                Interlocked.Increment(ref calls);
                var answer = await clients[caller.Index].CheckAsync(request, cancellationToken: ct);
                if (answer.Status != ServingStatus.Serving)
                {
                    throw new InvalidOperationException($"the service answered {answer.Status}");
                }
            }, service.Pid, cancellationToken);
            report.Add(check);
            var metricsAfter = await MetricsScrape.TakeAsync(Http, service.HttpPort, cancellationToken);
            double Delta(string metric) => metricsAfter[metric] - metricsBefore[metric];
            report.Figure($"service metrics over the {callers}-caller Check warm-up and window", string.Create(CultureInfo.InvariantCulture,
                $"{calls} Check calls: health check runs {Delta("chat_health_runs_total"):0} (the service's own, one per Health:Period; " +
                $"{(metricsAfter.Has("chat_health_runs_total") ? "counted" : "not exported by this build")}), " +
                $"Spanner single-use reads {Delta("spanner_client_reads_total"):0}, commits {Delta("spanner_client_commits_total"):0}"));
            if (service.ErrorLogs != errorsBefore)
            {
                report.Notes.Add($"the service logged {service.ErrorLogs - errorsBefore} errors during the {callers}-caller Check run");
            }

            report.Figure($"Check / GetHistory at {callers} callers", string.Create(CultureInfo.InvariantCulture,
                $"throughput {check.Throughput / read.Throughput:0.00}x, p50 {check.Latency.P50 / read.Latency.P50:0.00}x, p99 {check.Latency.P99 / read.Latency.P99:0.00}x"));
            if (callers == TargetCallers)
            {
                var slower = Math.Max(check.Latency.P50 / read.Latency.P50, check.Latency.P99 / read.Latency.P99);
                report.Targets.Add(new TargetCheck(
                    $"health Check latency within {TargetFactor}x of a warm GetHistory at {TargetCallers} callers (p50 and p99)",
                    string.Create(CultureInfo.InvariantCulture,
                        $"p50 {check.Latency.P50:0.###} vs {read.Latency.P50:0.###} ms, p99 {check.Latency.P99:0.###} vs {read.Latency.P99:0.###} ms; {check.Throughput:0}/s vs {read.Throughput:0}/s"),
                    slower <= TargetFactor && check.ErrorCount == 0));
            }
        }
    }
}
