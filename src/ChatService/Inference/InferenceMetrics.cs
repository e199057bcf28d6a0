using System.Diagnostics.Metrics;
using static ChatService.Telemetry.SafeRecording;

namespace ChatService.Inference;

/// <summary>Inference metrics, meter <c>ChatService.Inference</c>. Recording never throws.</summary>
internal static class InferenceMetrics
{
    public const string MeterName = "ChatService.Inference";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>(
        "chat.inference.time_to_first_token", unit: "s", description: "Time from the start of an attempt to its first text.");

    private static readonly Histogram<double> AttemptDuration = Meter.CreateHistogram<double>(
        "chat.inference.attempt.duration", unit: "s", description: "Duration of attempts, by backend and outcome.");

    private static readonly Counter<long> Tokens = Meter.CreateCounter<long>(
        "chat.inference.tokens", unit: "{token}", description: "Prompt and completion tokens, by backend and type.");

    private static readonly Histogram<double> OutputSpeed = Meter.CreateHistogram<double>(
        "chat.inference.tokens_per_second", unit: "{token}/s",
        description: "Completion tokens per second of successful attempts, from the first token to the end (decode speed).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2.5, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000] });

    private static readonly Counter<long> Attempts = Meter.CreateCounter<long>(
        "chat.inference.attempts", unit: "{attempt}", description: "Attempts on backends, by backend and outcome.");

    public static void RecordFirstToken(string backend, TimeSpan elapsed) =>
        Safely(() => TimeToFirstToken.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("backend", backend)));

    public static void RecordAttempt(ModelCall call) => Safely(() =>
    {
        var backend = new KeyValuePair<string, object?>("backend", call.Backend);
        var outcome = new KeyValuePair<string, object?>("outcome", call.Outcome);
        Attempts.Add(1, backend, outcome);
        AttemptDuration.Record((call.FinishedAt - call.StartedAt).TotalSeconds, backend, outcome);
        if (call.PromptTokens is { } prompt)
        {
            Tokens.Add(prompt, backend, new KeyValuePair<string, object?>("type", "prompt"));
        }

        if (call.CompletionTokens is { } completion)
        {
            Tokens.Add(completion, backend, new KeyValuePair<string, object?>("type", "completion"));
            if (call.Outcome == ModelCallOutcomes.Ok && call.FirstTokenAt is { } first && call.FinishedAt > first)
            {
                OutputSpeed.Record(completion / (call.FinishedAt - first).TotalSeconds, backend);
            }
        }
    });
}
