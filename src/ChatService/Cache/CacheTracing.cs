using System.Diagnostics;

namespace ChatService.Cache;

/// <summary>
/// The history cache's spans: one per Redis operation (window read, fill claim, populate, apply,
/// tombstone, invalidate), named <c>redis {operation}</c>. StackExchange.Redis has no tracing of
/// its own, so these are the Redis spans of a trace. Tracing never throws.
/// </summary>
internal static class CacheTracing
{
    public const string ActivitySourceName = "ChatService.Cache";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    /// <summary>A client span for one Redis call of the cache; null when nobody listens.</summary>
    public static Activity? Start(string operation, string command, string? chatId)
    {
        try
        {
            var activity = Source.StartActivity("redis " + operation, ActivityKind.Client);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("db.system.name", "redis");
                activity.SetTag("db.operation.name", command);
                activity.SetTag("chat.cache.operation", operation);
                if (chatId is not null)
                {
                    activity.SetTag("chat.id", chatId);
                }
            }

            return activity;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>Tags a successful call with what it found (<c>hit</c>, <c>miss</c>, ...) or <c>ok</c>.</summary>
    public static void Succeeded<T>(Activity? activity, T result, Func<T, string>? describe)
    {
        if (activity is null)
        {
            return;
        }

        string outcome;
        try
        {
            outcome = describe is null ? "ok" : describe(result);
        }
        catch (Exception)
        {
            outcome = "unreadable";
        }

        Result(activity, outcome);
    }

    /// <summary>How the operation ended: <c>ok</c>, <c>hit</c>, <c>miss</c>, <c>error</c>, ...</summary>
    public static void Result(Activity? activity, string result, Exception? failure = null)
    {
        if (activity is null)
        {
            return;
        }

        try
        {
            activity.SetTag("chat.cache.result", result);
            if (failure is not null)
            {
                activity.SetTag("error.type", failure.GetType().Name);
                activity.SetStatus(ActivityStatusCode.Error, failure.Message);
            }
        }
        catch (Exception)
        {
            // Tracing must not break a cache call.
        }
    }
}
