using HdrHistogram;

namespace ChatService.Bench.Load;

/// <summary>One caller of a closed loop: its own random, histograms and counters (never shared, so no locks).</summary>
internal sealed class Caller(int index, int seed)
{
    public int Index { get; } = index;

    public Random Random { get; } = new(seed);

    /// <summary>True while the current operation started inside the measured window.</summary>
    public bool Measuring { get; internal set; }

    internal LongHistogram Latency { get; } = LatencySummary.NewHistogram();

    internal Dictionary<string, LongHistogram> Extra { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    internal Dictionary<string, string> ErrorSamples { get; } = new(StringComparer.Ordinal);

    internal long Operations { get; set; }

    internal long LastCompletion { get; set; }

    /// <summary>Records a further latency of the current operation, when it is measured.</summary>
    public void Record(string name, TimeSpan value)
    {
        if (!Measuring)
        {
            return;
        }

        if (!Extra.TryGetValue(name, out var histogram))
        {
            Extra[name] = histogram = LatencySummary.NewHistogram();
        }

        histogram.RecordValue(LatencySummary.Micros(value));
    }
}
