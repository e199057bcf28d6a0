using System.Diagnostics.Metrics;

namespace ChatService.Inference;

/// <summary>Lore instruments, on the inference meter (<see cref="InferenceMetrics.MeterName"/>). Recording never throws.</summary>
internal static class LoreMetrics
{
    private static readonly Meter Meter = new(InferenceMetrics.MeterName);

    private static readonly Counter<long> RegexTimeouts = Meter.CreateCounter<long>(
        "chat.lore.regex_timeouts", unit: "{entry}", description: "Lore entries whose regular-expression key ran out of time on a reply's messages (counted as no match).");

    public static void RegexTimedOut()
    {
        try
        {
            RegexTimeouts.Add(1);
        }
        catch (Exception)
        {
            // A metric never fails a reply.
        }
    }
}
