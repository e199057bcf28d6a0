using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;

namespace ChatService.Tests.Cache;

/// <summary>
/// What the history cache did with Redis for one particular RPC: the test sends the call with a
/// W3C <c>traceparent</c> of a trace of its own, and the cache's spans (<c>redis read</c>, <c>redis
/// fill</c>, ...) under that trace are recorded with their result (<c>hit</c>, <c>miss</c>,
/// <c>error</c>, ...). Only the traces started here are sampled, so tests running in parallel are
/// neither recorded nor slowed down. A call with no Redis span was served without asking Redis (the
/// near cache, an open breaker, a chat marked dirty).
/// </summary>
public sealed class CacheCallRecorder : IDisposable
{
    private const string AspNetCore = "Microsoft.AspNetCore";
    private const string Cache = "ChatService.Cache";

    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentQueue<CacheCall>> _traces = new();
    private readonly ActivityListener _listener;

    public CacheCallRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is AspNetCore or Cache,
            Sample = (ref options) => _traces.ContainsKey(options.TraceId)
                ? ActivitySamplingResult.AllDataAndRecorded
                : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == Cache && _traces.TryGetValue(activity.TraceId, out var calls))
                {
                    calls.Enqueue(new CacheCall(
                        activity.GetTagItem("chat.cache.operation")?.ToString() ?? activity.OperationName,
                        activity.GetTagItem("chat.cache.result")?.ToString() ?? "?",
                        activity.StatusDescription));
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Headers that make the call's server spans part of a new trace this recorder watches.</summary>
    public (Metadata Headers, ActivityTraceId Trace) NewTrace()
    {
        var trace = ActivityTraceId.CreateRandom();
        _traces[trace] = new ConcurrentQueue<CacheCall>();
        return (new Metadata { { "traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01" } }, trace);
    }

    /// <summary>The cache's Redis calls of the trace, in the order they ended; the trace is forgotten.</summary>
    public IReadOnlyList<CacheCall> Take(ActivityTraceId trace) =>
        _traces.TryRemove(trace, out var calls) ? [.. calls] : [];

    public void Dispose() => _listener.Dispose();
}

/// <summary>One Redis call of the history cache: its operation (read, fill, populate, ...) and result (hit, miss, error, ...).</summary>
public sealed record CacheCall(string Operation, string Result, string? Error)
{
    public override string ToString() => Error is null ? $"{Operation}:{Result}" : $"{Operation}:{Result} ({Error})";
}
