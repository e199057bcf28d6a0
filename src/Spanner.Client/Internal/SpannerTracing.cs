using System.Diagnostics;

namespace Spanner.Client.Internal;

/// <summary>
/// The client's spans: one per RPC and one per read-write transaction. Attribute names follow the
/// OpenTelemetry database and RPC conventions where they have one. Starting or tagging a span never
/// throws: tracing must not break a Spanner operation.
/// </summary>
internal static class SpannerTracing
{
    private const int MaxQueryTextLength = 2000;

    private static readonly ActivitySource Source = new(SpannerTelemetry.ActivitySourceName);

    /// <summary>A client span for one Spanner RPC; null when nobody listens.</summary>
    public static Activity? StartRpc(string method, string databasePath, string? sql = null)
    {
        try
        {
            var activity = Source.StartActivity("spanner." + method, ActivityKind.Client);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("db.system.name", "gcp.spanner");
                activity.SetTag("db.namespace", databasePath);
                activity.SetTag("rpc.system", "grpc");
                activity.SetTag("rpc.service", "google.spanner.v1.Spanner");
                activity.SetTag("rpc.method", method);
                if (!string.IsNullOrEmpty(sql))
                {
                    // Statements are parameterized: the text carries no user data.
                    activity.SetTag("db.query.text", sql.Length <= MaxQueryTextLength ? sql : sql[..MaxQueryTextLength]);
                }
            }

            return activity;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>A span around a read-write transaction, its retries included.</summary>
    public static Activity? StartTransaction(string databasePath)
    {
        try
        {
            var activity = Source.StartActivity("spanner.transaction", ActivityKind.Internal);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("db.system.name", "gcp.spanner");
                activity.SetTag("db.namespace", databasePath);
            }

            return activity;
        }
        catch (Exception)
        {
            return null;
        }
    }

    /// <summary>An attempt failed and is retried after <paramref name="delay"/>.</summary>
    public static void Retrying(Activity? activity, string reason, int attempt, TimeSpan delay)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        try
        {
            activity.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
            {
                ["spanner.retry.reason"] = reason,
                ["spanner.retry.attempt"] = attempt,
                ["spanner.retry.delay_ms"] = delay.TotalMilliseconds,
            }));
        }
        catch (Exception)
        {
            // Tracing must not break the operation.
        }
    }

    public static void SetTag(Activity? activity, string name, object? value)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        try
        {
            activity.SetTag(name, value);
        }
        catch (Exception)
        {
            // Tracing must not break the operation.
        }
    }

    /// <summary>Marks the span failed with the error's gRPC status.</summary>
    public static void Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        try
        {
            var code = exception switch
            {
                SpannerException spanner => spanner.StatusCode.ToString(),
                OperationCanceledException => "Cancelled",
                _ => exception.GetType().Name,
            };
            activity.SetTag("error.type", code);
            activity.SetTag("rpc.grpc.status_code", exception is SpannerException s ? (int)s.StatusCode : null);
            activity.SetStatus(ActivityStatusCode.Error, exception is SpannerException se ? se.Detail : exception.Message);
        }
        catch (Exception)
        {
            // Tracing must not break the operation.
        }
    }
}
