using System.Collections.Concurrent;
using ChatService.Bench.Load;

namespace ChatService.Bench.Scenarios;

/// <summary>What the streams scenario's client sees, updated by thousands of streams at once.</summary>
internal sealed class StreamCounters(int target)
{
    private readonly List<(long Timestamp, int Accepted)> _openingSamples = [];
    private readonly ConcurrentDictionary<string, string> _errorSamples = new(StringComparer.Ordinal);
    private readonly Gauge _accepted = new();
    private readonly Gauge _open = new();
    private readonly Gauge _generating = new();
    private readonly Gauge _completed = new();
    private readonly Gauge _failed = new();
    private readonly Gauge _errors = new();
    private readonly Gauge _retried = new();
    private readonly Gauge _peakOpen = new();
    private readonly Gauge _peakGenerating = new();
    private long _peakRss;

    public int Accepted => _accepted.Value;

    /// <summary>Streams accepted and not yet ended.</summary>
    public int Open => _open.Value;

    /// <summary>Open streams whose reply has started.</summary>
    public int Generating => _generating.Value;

    public int Completed => _completed.Value;

    public int Failed => _failed.Value;

    public int Errors => _errors.Value;

    /// <summary>SendMessage calls repeated (same request id) after a transient status before acceptance.</summary>
    public int Retried => _retried.Value;

    public int PeakOpen => _peakOpen.Value;

    public int PeakGenerating => _peakGenerating.Value;

    /// <summary>Largest service RSS sampled.</summary>
    public long PeakRss => Interlocked.Read(ref _peakRss);

    /// <summary>Service RSS at the first sample with half the target open (0 if never).</summary>
    public long RssAtHalf { get; private set; }

    public void OnAccepted()
    {
        _accepted.Add(1);
        _peakOpen.RaiseTo(_open.Add(1));
    }

    public void OnGenerating() => _peakGenerating.RaiseTo(_generating.Add(1));

    public void OnCompleted() => _completed.Add(1);

    public void OnRetried() => _retried.Add(1);

    public void OnFailed(string reason)
    {
        _failed.Add(1);
        _errorSamples.TryAdd("reply failed", reason);
    }

    public void OnError(string kind, string message)
    {
        _errors.Add(1);
        _errorSamples.TryAdd(kind, message);
    }

    public void OnEnded(bool accepted, bool generating)
    {
        if (accepted)
        {
            _open.Add(-1);
        }

        if (generating)
        {
            _generating.Add(-1);
        }
    }

    /// <summary>Called by the one sampler: the service's RSS now, and how far opening has come.</summary>
    public void Sample(long rss, long timestamp)
    {
        if (rss > PeakRss)
        {
            Interlocked.Exchange(ref _peakRss, rss);
        }

        if (RssAtHalf == 0 && Open >= target / 2)
        {
            RssAtHalf = rss;
        }

        if (Accepted < target)
        {
            _openingSamples.Add((timestamp, Accepted));
        }
    }

    /// <summary>SendMessage/s in the first and the last quarter of opening: the emulator slows as tables grow.</summary>
    public string OpeningRates()
    {
        if (_openingSamples.Count < 8)
        {
            return "too short to split";
        }

        string Rate(int from, int to)
        {
            var (t0, a0) = _openingSamples[from];
            var (t1, a1) = _openingSamples[to];
            var seconds = (t1 - t0) / (double)System.Diagnostics.Stopwatch.Frequency;
            return seconds > 0 ? ((a1 - a0) / seconds).ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "?";
        }

        var n = _openingSamples.Count;
        return $"{Rate(0, n / 4)}/s in the first quarter of the time, {Rate(3 * n / 4, n - 1)}/s in the last";
    }

    public IEnumerable<KeyValuePair<string, string>> ErrorSamples() => _errorSamples;
}
