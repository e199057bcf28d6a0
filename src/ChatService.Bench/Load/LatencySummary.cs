using HdrHistogram;

namespace ChatService.Bench.Load;

/// <summary>Percentiles of a latency histogram recorded in microseconds, reported in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double Mean, double P50, double P90, double P99, double P999, double Max)
{
    /// <summary>Largest latency a histogram can hold (10 min); longer ones are recorded as this.</summary>
    public const long HighestMicros = 600_000_000;

    public static LongHistogram NewHistogram() => new(HighestMicros, 3);

    /// <summary>Microseconds, clamped to what the histogram holds (negative values count as 0).</summary>
    public static long Micros(TimeSpan value) => Math.Clamp((long)value.TotalMicroseconds, 0, HighestMicros);

    public static LatencySummary From(LongHistogram histogram)
    {
        if (histogram.TotalCount == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0, 0);
        }

        static double Ms(double micros) => Math.Round(micros / 1000.0, 3);
        return new LatencySummary(
            histogram.TotalCount,
            Ms(histogram.GetMean()),
            Ms(histogram.GetValueAtPercentile(50)),
            Ms(histogram.GetValueAtPercentile(90)),
            Ms(histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetValueAtPercentile(99.9)),
            Ms(histogram.GetMaxValue()));
    }
}
