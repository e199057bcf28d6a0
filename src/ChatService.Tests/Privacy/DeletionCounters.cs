using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ChatService.Privacy;

namespace ChatService.Tests.Privacy;

/// <summary>
/// Sums what deletions report on their meter (<see cref="DataDeletionMetrics.MeterName"/>) while alive, by
/// instrument and tags (<c>chat.data_deletion.runs{outcome=lease_lost}</c>). The meter is the process's:
/// deletions of other tests running meanwhile count too, so a test asserts a least amount, not an exact one.
/// </summary>
internal sealed class DeletionCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new(StringComparer.Ordinal);

    public DeletionCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DataDeletionMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            foreach (var tag in tags)
            {
                _sums.AddOrUpdate($"{instrument.Name}{{{tag.Key}={tag.Value}}}", value, (_, sum) => sum + value);
            }
        });
        _listener.Start();
    }

    /// <summary>The sum of <paramref name="instrument"/>'s measurements, or of those with one tag (<c>name{key=value}</c>).</summary>
    public long this[string instrument] => _sums.GetValueOrDefault(instrument);

    public void Dispose() => _listener.Dispose();
}
