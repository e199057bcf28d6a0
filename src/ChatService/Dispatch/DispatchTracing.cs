using System.Diagnostics;
using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// The reply generation span. Generation runs on a worker after the request that owed the reply
/// has returned, so the span is parented explicitly on the context the job captured: one trace
/// goes from the RPC through the queue, Redis, the model call and the settle commit. Tracing never throws.
/// </summary>
internal static class DispatchTracing
{
    public const string ActivitySourceName = "ChatService.Dispatch";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>
    /// Starts (and makes current) the span of one reply's generation: a child of
    /// <paramref name="caller"/>, or a new root for recovered replies.
    /// </summary>
    public static Activity? StartGeneration(ReplyKey key, ActivityContext caller, TimeSpan queued)
    {
        try
        {
            // Workers must never inherit whatever happened to be ambient when they were started.
            Activity.Current = null;
            var activity = Source.StartActivity("chat.reply.generate", ActivityKind.Internal, caller);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("chat.id", key.ChatId);
                activity.SetTag("chat.turn.seq", key.Seq);
                activity.SetTag("chat.candidate.id", key.CandidateId);
                activity.SetTag("chat.reply.recovered", caller == default);
                activity.SetTag("chat.dispatch.queue_time", queued.TotalSeconds);
            }

            return activity;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>How the generation ended: complete, failed, cancelled, or handed on (left owed).</summary>
    public static void Outcome(Activity? activity, string outcome, string? failureCode = null)
    {
        if (activity is null)
        {
            return;
        }

        try
        {
            activity.SetTag("chat.reply.outcome", outcome);
            if (failureCode is not null)
            {
                activity.SetTag("error.type", failureCode);
                activity.SetStatus(ActivityStatusCode.Error, failureCode);
            }
        }
        catch (Exception)
        {
            // Tracing must not break a reply.
        }
    }
}
