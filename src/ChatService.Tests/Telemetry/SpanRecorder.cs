using System.Collections.Concurrent;
using System.Diagnostics;

namespace ChatService.Tests.Telemetry;

/// <summary>
/// Records every finished span of the service's sources (ASP.NET Core's server spans included)
/// while alive. Spans of tests running in parallel are recorded too: find yours by chat id or trace.
/// </summary>
public sealed class SpanRecorder : IDisposable
{
    public const string AspNetCore = "Microsoft.AspNetCore";
    public const string Spanner = "Spanner.Client";
    public const string Cache = "ChatService.Cache";
    public const string Dispatch = "ChatService.Dispatch";
    public const string Inference = "ChatService.Inference";

    private static readonly HashSet<string> Sources = [AspNetCore, Spanner, Cache, Dispatch, Inference];

    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => Sources.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public IReadOnlyList<Activity> Stopped => _stopped.ToArray();

    /// <summary>The first finished span that matches, waiting up to 10 s for it.</summary>
    public async Task<Activity> WaitForAsync(string description, Func<Activity, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_stopped.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no finished span {description} within 10 s");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose() => _listener.Dispose();
}
