using System.Diagnostics;

namespace ChatService.Inference;

/// <summary>
/// The model call spans: one per attempt on a backend, named <c>chat {model}</c> with the
/// OpenTelemetry GenAI attributes (operation, provider, model, token usage) plus the backend,
/// the attempt number, the outcome and the time to first token. Tracing never throws.
/// </summary>
internal static class InferenceTracing
{
    public const string ActivitySourceName = "ChatService.Inference";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>
    /// Starts the span of an attempt without making it current: the attempt runs inside the
    /// router's iterator, whose ambient context belongs to the reader between events.
    /// </summary>
    public static Activity? StartModelCall(int attempt, string backend, BackendOptions options, string model, int maxOutputTokens)
    {
        var previous = Activity.Current;
        try
        {
            var activity = Source.StartActivity("chat " + model, ActivityKind.Client);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("gen_ai.operation.name", "chat");
                activity.SetTag("gen_ai.provider.name", options.Kind == BackendKind.OpenAI ? "openai" : "simulated");
                activity.SetTag("gen_ai.request.model", model);
                activity.SetTag("gen_ai.request.max_tokens", maxOutputTokens);
                activity.SetTag("chat.model_call.backend", backend);
                activity.SetTag("chat.model_call.attempt", attempt);
            }

            return activity;
        }
        catch (Exception)
        {
            return null;
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    /// <summary>Records the attempt's outcome, timings and token counts, and ends its span.</summary>
    public static void Finish(Activity? activity, ModelCall call)
    {
        if (activity is null)
        {
            return;
        }

        try
        {
            activity.SetTag("chat.model_call.outcome", call.Outcome);
            if (call.FirstTokenAt is { } first)
            {
                activity.SetTag("chat.model_call.time_to_first_token", (first - call.StartedAt).TotalSeconds);
            }

            if (call.PromptTokens is { } prompt)
            {
                activity.SetTag("gen_ai.usage.input_tokens", prompt);
            }

            if (call.CompletionTokens is { } completion)
            {
                activity.SetTag("gen_ai.usage.output_tokens", completion);
            }

            if (call.Outcome != ModelCallOutcomes.Ok)
            {
                activity.SetTag("error.type", call.Outcome);
                activity.SetStatus(ActivityStatusCode.Error, call.Error);
            }

            activity.Stop();
        }
        catch (Exception)
        {
            // Tracing must not break a reply.
        }
    }
}
