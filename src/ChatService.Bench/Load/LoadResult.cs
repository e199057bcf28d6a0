using ChatService.Bench.Infrastructure;

namespace ChatService.Bench.Load;

/// <summary>One measured run: N callers against one target for the measured window.</summary>
/// <param name="Name">What was measured, e.g. <c>service GetHistory (warm)</c>.</param>
/// <param name="Callers">Concurrent callers (closed loop: each starts its next call when the last returns).</param>
/// <param name="Operations">Successful operations started in the window.</param>
/// <param name="Seconds">Length of the window, up to the last of those operations' completions.</param>
/// <param name="Throughput">Operations per second.</param>
/// <param name="Latency">Latency of the successful operations.</param>
/// <param name="Errors">Failed operations in the window by gRPC status (or exception type).</param>
/// <param name="ErrorSamples">One message per error kind.</param>
/// <param name="Extra">Further latencies the scenario recorded (e.g. time to first token).</param>
/// <param name="Cpu">Where the CPU went during the window.</param>
internal sealed record LoadResult(
    string Name,
    int Callers,
    long Operations,
    double Seconds,
    double Throughput,
    LatencySummary Latency,
    IReadOnlyDictionary<string, long> Errors,
    IReadOnlyDictionary<string, string> ErrorSamples,
    IReadOnlyDictionary<string, LatencySummary> Extra,
    CpuSplit? Cpu)
{
    public long ErrorCount => Errors.Values.Sum();
}
