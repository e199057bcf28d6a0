using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace ChatService.Tests.Auth;

/// <summary>
/// Counts what one service instance reports on its ChatService.Auth meter while alive: the meter is made
/// by that instance's meter factory, so other services running in the same test process are not counted.
/// </summary>
public sealed class AuthCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public AuthCounters(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "ChatService.Auth" && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"|{tag.Key}={tag.Value}";
            }

            _counts.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>JWKS fetches of this cause (startup, scheduled, unknown_kid) and result (success, failure).</summary>
    public long Refreshes(string cause, string result) => Count($"chat.jwks.refreshes|cause={cause}|result={result}");

    /// <summary>Unknown-key refusals for this reason (not_published, throttled, unavailable).</summary>
    public long UnknownKeyRefusals(string reason) => Count($"chat.auth.unknown_kid_refusals|reason={reason}");

    public long AllUnknownKeyRefusals => _counts.Where(c => c.Key.StartsWith("chat.auth.unknown_kid_refusals|", StringComparison.Ordinal)).Sum(c => c.Value);

    public override string ToString() => string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}"));

    public void Dispose() => _listener.Dispose();

    private long Count(string key) => _counts.GetValueOrDefault(key);
}
