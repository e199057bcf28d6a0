using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The columns a model call is logged with, the same in both of its logs: <c>ModelCalls</c> (a reply's
/// attempts) and <c>SummaryCalls</c> (a summary job's). Each log adds its own key columns.
/// </summary>
internal static class ModelCallColumns
{
    public static SpannerMutation Set(SpannerMutation mutation, ModelCallRecord call) => mutation
        .Set("Backend", call.Backend)
        .Set("Model", call.Model)
        .Set("Outcome", call.Outcome)
        .Set("Error", call.Error)
        .Set("QueuedTime", call.QueuedAt)
        .Set("StartedTime", call.StartedAt)
        .Set("FirstTokenTime", call.FirstTokenAt)
        .Set("FinishedTime", call.FinishedAt)
        .Set("PromptTokens", (long?)call.PromptTokens)
        .Set("CompletionTokens", (long?)call.CompletionTokens)
        .Set("LogTime", SpannerCommitTimestamp.Value);
}
