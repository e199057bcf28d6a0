using System.Diagnostics.Metrics;
using static ChatService.Telemetry.SafeRecording;

namespace ChatService.Moderation;

/// <summary>The moderation step's instruments. Recording never throws.</summary>
internal static class ModerationMetrics
{
    public const string MeterName = "ChatService.Moderation";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Checks = Meter.CreateCounter<long>(
        "chat.moderation.checks", unit: "{check}",
        description: "Moderation checks, by target (user_message, reply) and result (clean, flagged, unavailable).");

    private static readonly Counter<long> Outages = Meter.CreateCounter<long>(
        "chat.moderation.outages", unit: "{check}",
        description: "Checks the moderator could not answer, by target and by what the outage policy did (passed, blocked).");

    public static void Checked(ModerationTarget target, string result) => Safely(() =>
        Checks.Add(1, new KeyValuePair<string, object?>("target", TargetName(target)), new KeyValuePair<string, object?>("result", result)));

    public static void Outage(ModerationTarget target, bool blocked) => Safely(() =>
        Outages.Add(1, new KeyValuePair<string, object?>("target", TargetName(target)), new KeyValuePair<string, object?>("policy", blocked ? "blocked" : "passed")));

    public static string TargetName(ModerationTarget target) => target == ModerationTarget.UserMessage ? "user_message" : "reply";
}
