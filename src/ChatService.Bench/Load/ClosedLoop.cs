using System.Diagnostics;
using ChatService.Bench.Infrastructure;
using Grpc.Core;
using HdrHistogram;

namespace ChatService.Bench.Load;

/// <summary>
/// N callers, each calling again as soon as its last call returns, for a warm-up and then a
/// measured window. Latencies go to per-caller HdrHistograms (microseconds) merged at the end.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<LoadResult> RunAsync(
        string name,
        int callers,
        TimeSpan warmup,
        TimeSpan duration,
        Func<Caller, CancellationToken, Task> operation,
        int? servicePid,
        CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var participants = Enumerable.Range(0, callers).Select(i => new Caller(i, HashCode.Combine(name, i))).ToArray();

        var cpu = MeasureCpuAsync(warmup, duration, servicePid, cancellationToken);
        await Task.WhenAll(participants.Select(c => Task.Run(() => LoopAsync(c, operation, measureFrom, measureTo, cancellationToken), cancellationToken)));
        var split = await cpu;

        var latency = LatencySummary.NewHistogram();
        var extra = new Dictionary<string, LongHistogram>(StringComparer.Ordinal);
        var errors = new Dictionary<string, long>(StringComparer.Ordinal);
        var samples = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var caller in participants)
        {
            latency.Add(caller.Latency);
            foreach (var (key, histogram) in caller.Extra)
            {
                if (!extra.TryGetValue(key, out var merged))
                {
                    extra[key] = merged = LatencySummary.NewHistogram();
                }

                merged.Add(histogram);
            }

            foreach (var (key, count) in caller.Errors)
            {
                errors[key] = errors.GetValueOrDefault(key) + count;
                samples.TryAdd(key, caller.ErrorSamples[key]);
            }
        }

        var operations = participants.Sum(c => c.Operations);
        var lastCompletion = participants.Max(c => c.LastCompletion);
        var seconds = Math.Max(duration.TotalSeconds, (lastCompletion - measureFrom) / (double)Stopwatch.Frequency);
        return new LoadResult(
            name,
            callers,
            operations,
            Math.Round(seconds, 3),
            Math.Round(operations / seconds, 1),
            LatencySummary.From(latency),
            errors,
            samples,
            extra.ToDictionary(e => e.Key, e => LatencySummary.From(e.Value), StringComparer.Ordinal),
            split);
    }

    private static async Task LoopAsync(Caller caller, Func<Caller, CancellationToken, Task> operation, long measureFrom, long measureTo, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var began = Stopwatch.GetTimestamp();
            if (began >= measureTo)
            {
                return;
            }

            caller.Measuring = began >= measureFrom;
            try
            {
                await operation(caller, cancellationToken);
                var ended = Stopwatch.GetTimestamp();
                if (caller.Measuring)
                {
                    caller.Latency.RecordValue(LatencySummary.Micros(Stopwatch.GetElapsedTime(began, ended)));
                    caller.Operations++;
                    caller.LastCompletion = ended;
                }
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (caller.Measuring)
                {
                    var kind = ex is RpcException rpc ? rpc.StatusCode.ToString() : ex.GetType().Name;
                    caller.Errors[kind] = caller.Errors.GetValueOrDefault(kind) + 1;
                    caller.ErrorSamples.TryAdd(kind, ex.Message);
                }

                // A failing target answers fast; do not turn the loop into a spin.
                await Task.Delay(1, cancellationToken);
            }
        }
    }

    private static async Task<CpuSplit?> MeasureCpuAsync(TimeSpan warmup, TimeSpan duration, int? servicePid, CancellationToken cancellationToken)
    {
        await Task.Delay(warmup, cancellationToken);
        var meter = CpuSplit.Start(servicePid);
        await Task.Delay(duration, cancellationToken);
        return meter.Stop();
    }
}
