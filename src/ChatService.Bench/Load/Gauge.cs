namespace ChatService.Bench.Load;

/// <summary>One count that thousands of streams move at once (e.g. streams open, and its peak).</summary>
internal sealed class Gauge
{
    private int _value;

    public int Value => Volatile.Read(ref _value);

    /// <summary>Moves the count by <paramref name="delta"/>; returns the new count.</summary>
    public int Add(int delta) => Interlocked.Add(ref _value, delta);

    /// <summary>Raises the count to <paramref name="candidate"/> if that is higher (a peak).</summary>
    public void RaiseTo(int candidate)
    {
        int current;
        while (candidate > (current = Volatile.Read(ref _value)) && Interlocked.CompareExchange(ref _value, candidate, current) != current)
        {
        }
    }
}
