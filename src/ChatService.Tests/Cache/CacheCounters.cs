using System.Diagnostics.Metrics;

namespace ChatService.Tests.Cache;

/// <summary>Counts what the history cache reports on its meter while alive.</summary>
public sealed class CacheCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _hits;
    private long _misses;
    private long _fallbacks;

    public CacheCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "ChatService.Cache")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "chat.cache.hits": Interlocked.Add(ref _hits, value); break;
                case "chat.cache.misses": Interlocked.Add(ref _misses, value); break;
                case "chat.cache.fallbacks": Interlocked.Add(ref _fallbacks, value); break;
            }
        });
        _listener.Start();
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Fallbacks => Interlocked.Read(ref _fallbacks);

    public (long Hits, long Misses, long Fallbacks) Snapshot() => (Hits, Misses, Fallbacks);

    public void Dispose() => _listener.Dispose();
}
