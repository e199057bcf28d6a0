using System.Diagnostics.Metrics;
using static ChatService.Telemetry.SafeRecording;

namespace ChatService.Auth;

/// <summary>
/// The JWKS key cache's instruments. Made by the host's meter factory rather than kept static, so
/// every service instance in one process (the tests run several) counts its own fetches and
/// refusals. Recording never throws (a meter listener that does loses the data point), so telemetry never
/// changes a fetch's keys or a call's answer.
/// </summary>
internal sealed class AuthMetrics
{
    public const string MeterName = "ChatService.Auth";

    private readonly Counter<long> _refreshes;
    private readonly Counter<long> _unknownKeyRefusals;

    public AuthMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _refreshes = meter.CreateCounter<long>(
            "chat.jwks.refreshes", unit: "{fetch}",
            description: "Fetches of the issuer's JWKS, by cause (startup, scheduled, unknown_kid) and result (success, failure).");
        _unknownKeyRefusals = meter.CreateCounter<long>(
            "chat.auth.unknown_kid_refusals", unit: "{call}",
            description: "Calls refused because their token names a key the service does not know, by reason (not_published, throttled, unavailable).");
    }

    public void Refreshed(JwksFetchCause cause, bool succeeded) => Safely(() => _refreshes.Add(
        1,
        new KeyValuePair<string, object?>("cause", cause switch
        {
            JwksFetchCause.Startup => "startup",
            JwksFetchCause.Scheduled => "scheduled",
            _ => "unknown_kid",
        }),
        new KeyValuePair<string, object?>("result", succeeded ? "success" : "failure")));

    public void UnknownKeyRefused(JwksKeyOutcome outcome) => Safely(() => _unknownKeyRefusals.Add(
        1,
        new KeyValuePair<string, object?>("reason", outcome switch
        {
            JwksKeyOutcome.Throttled => "throttled",
            JwksKeyOutcome.Unavailable => "unavailable",
            _ => "not_published",
        })));
}
