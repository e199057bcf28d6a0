using System.Collections.Concurrent;

namespace ChatService.Bench.Scenarios;

/// <summary>What the streams scenario's client sees, updated by thousands of streams at once.</summary>
internal sealed class StreamCounters(int target)
{
    private readonly List<(long Timestamp, int Accepted)> _openingSamples = [];
    private readonly ConcurrentDictionary<string, string> _errorSamples = new(StringComparer.Ordinal);
    private int _accepted;
    private int _open;
    private int _generating;
    private int _completed;
    private int _failed;
    private int _errors;
    private int _peakOpen;
    private int _peakGenerating;
    private long _peakRss;

    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Streams accepted and not yet ended.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Open streams whose reply has started.</summary>
    public int Generating => Volatile.Read(ref _generating);

    public int Completed => Volatile.Read(ref _completed);

    public int Failed => Volatile.Read(ref _failed);

    public int Errors => Volatile.Read(ref _errors);

    /// <summary>SendMessage calls repeated (same request id) after a transient status before acceptance.</summary>
    public int Retried => Volatile.Read(ref _retried);

    private int _retried;

    public void OnRetried() => Interlocked.Increment(ref _retried);

    public int PeakOpen => Volatile.Read(ref _peakOpen);

    public int PeakGenerating => Volatile.Read(ref _peakGenerating);

    /// <summary>Largest service RSS sampled.</summary>
    public long PeakRss => Interlocked.Read(ref _peakRss);

    /// <summary>Service RSS at the first sample with half the target open (0 if never).</summary>
    public long RssAtHalf { get; private set; }

    public void OnAccepted()
    {
        Interlocked.Increment(ref _accepted);
        Max(ref _peakOpen, Interlocked.Increment(ref _open));
    }

    public void OnGenerating() => Max(ref _peakGenerating, Interlocked.Increment(ref _generating));

    public void OnCompleted() => Interlocked.Increment(ref _completed);

    public void OnFailed(string reason)
    {
        Interlocked.Increment(ref _failed);
        _errorSamples.TryAdd("reply failed", reason);
    }

    public void OnError(string kind, string message)
    {
        Interlocked.Increment(ref _errors);
        _errorSamples.TryAdd(kind, message);
    }

    public void OnEnded(bool accepted, bool generating)
    {
        if (accepted)
        {
            Interlocked.Decrement(ref _open);
        }

        if (generating)
        {
            Interlocked.Decrement(ref _generating);
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

    private static void Max(ref int location, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref location)) && Interlocked.CompareExchange(ref location, value, current) != current)
        {
        }
    }
}
