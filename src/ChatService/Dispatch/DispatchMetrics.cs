using System.Diagnostics.Metrics;
using static ChatService.Telemetry.SafeRecording;

namespace ChatService.Dispatch;

/// <summary>The reply pipeline's instruments. Recording never throws.</summary>
internal static class DispatchMetrics
{
    public const string MeterName = "ChatService.Dispatch";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Replies = Meter.CreateCounter<long>("chat.replies", unit: "{reply}", description: "Replies settled, by final state.");
    private static readonly Counter<long> Recovered = Meter.CreateCounter<long>("chat.replies.recovered", unit: "{reply}", description: "Owed replies claimed by the recovery sweeper.");
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("chat.replies.rejected", unit: "{job}", description: "Reply jobs refused because the queue was full.");

    private static readonly Counter<long> LogAppends = Meter.CreateCounter<long>(
        "chat.reply_log.appends", unit: "{append}", description: "Batches of reply events written to the shared reply log.");

    private static readonly Counter<long> LogEvents = Meter.CreateCounter<long>(
        "chat.reply_log.events", unit: "{event}", description: "Reply events written to the shared reply log.");

    private static readonly Counter<long> LogRefusals = Meter.CreateCounter<long>(
        "chat.reply_log.refusals", unit: "{append}", description: "Appends to the shared reply log that did not go in, by reason (unavailable, out_of_order, fenced, ended).");

    private static readonly Counter<long> LogReads = Meter.CreateCounter<long>(
        "chat.reply_log.reads", unit: "{read}", description: "Reads of the shared reply log by replicas following replies they do not own.");

    private static readonly Counter<long> MirrorStorageReads = Meter.CreateCounter<long>(
        "chat.reply_follow.storage_reads", unit: "{read}", description: "Storage reads made for followed replies the shared log could not serve.");

    private static readonly UpDownCounter<long> Mirrors = Meter.CreateUpDownCounter<long>(
        "chat.reply_follow.mirrors", unit: "{reply}", description: "Replies owned elsewhere that callers of this replica follow.");

    private static readonly UpDownCounter<long> Owed = Meter.CreateUpDownCounter<long>(
        "chat.replies.owed", unit: "{reply}",
        description: "Replies this replica holds and has not settled yet (queued or generating). Replies owed in storage whose lease ran out are not counted here: recovery claims them.");

    private static readonly Histogram<double> FirstTokenLatency = Meter.CreateHistogram<double>(
        "chat.reply.time_to_first_token", unit: "s",
        description: "Time from queueing a reply to its first text: queue wait, prompt building and the model's time to first token.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30] });

    /// <summary>Fine buckets (ms): 20 µs steps to 3 ms, 0.2 ms to 10 ms, and 0.1 ms around a simulated backend's 50 ms first token.</summary>
    private static readonly Histogram<double> StageDurations = Meter.CreateHistogram<double>(
        "chat.reply.stage.duration", unit: "ms",
        description: "Wall-clock time of each stage of a reply's first token path (Dispatch:StageTimings; stage: the stage's end mark).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageBuckets() });

    private static Func<int>? s_queueDepth;
    private static Func<int>? s_inFlight;
    private static Func<int>? s_settlesWaiting;

    static DispatchMetrics()
    {
        Meter.CreateObservableGauge("chat.dispatch.queue_depth", () => s_queueDepth?.Invoke() ?? 0, unit: "{job}", description: "Reply jobs waiting for a worker.");
        Meter.CreateObservableGauge("chat.dispatch.in_flight", () => s_inFlight?.Invoke() ?? 0, unit: "{job}", description: "Reply jobs being generated.");
        Meter.CreateObservableGauge("chat.dispatch.settles_waiting", () => s_settlesWaiting?.Invoke() ?? 0, unit: "{reply}",
            description: "Finished replies waiting for a slot to store their outcome.");
    }

    public static void ObserveQueue(Func<int> depth, Func<int> inFlight)
    {
        s_queueDepth = depth;
        s_inFlight = inFlight;
    }

    public static void ObserveSettles(Func<int> waiting) => s_settlesWaiting = waiting;

    public static void ReplySettled(string state) => Safely(() => Replies.Add(1, new KeyValuePair<string, object?>("state", state)));

    public static void ReplyRecovered(int count) => Safely(() => Recovered.Add(count));

    public static void JobRejected() => Safely(() => Rejected.Add(1));

    /// <summary>A reply stream opened here (+1) or ended (-1, settled or handed on).</summary>
    public static void OwedChanged(int delta) => Safely(() => Owed.Add(delta));

    public static void LogAppended(int events) => Safely(() =>
    {
        LogAppends.Add(1);
        LogEvents.Add(events);
    });

    public static void LogAppendRefused(string reason) => Safely(() => LogRefusals.Add(1, new KeyValuePair<string, object?>("reason", reason)));

    public static void LogRead() => Safely(() => LogReads.Add(1));

    public static void MirrorStorageRead() => Safely(() => MirrorStorageReads.Add(1));

    public static void MirrorOpened() => Safely(() => Mirrors.Add(1));

    public static void MirrorClosed() => Safely(() => Mirrors.Add(-1));

    public static void FirstToken(TimeSpan sinceQueued) => Safely(() => FirstTokenLatency.Record(Math.Max(0, sinceQueued.TotalSeconds)));

    /// <summary>One stage of a reply's first token path (<see cref="ReplyStages"/>, with <c>Dispatch:StageTimings</c> on).</summary>
    public static void StageTimed(string stage, TimeSpan duration) =>
        Safely(() => StageDurations.Record(duration.TotalMilliseconds, new KeyValuePair<string, object?>("stage", stage)));

    private static IReadOnlyList<double> StageBuckets()
    {
        var buckets = new List<double>();
        for (var i = 1; i <= 150; i++)
        {
            buckets.Add(Math.Round(i * 0.02, 2));
        }

        for (var i = 1; i <= 35; i++)
        {
            buckets.Add(Math.Round(3 + (i * 0.2), 1));
        }

        buckets.AddRange([15, 20, 30, 40, 45]);
        for (var i = 1; i <= 150; i++)
        {
            buckets.Add(Math.Round(45 + (i * 0.1), 1));
        }

        buckets.AddRange([75, 100, 250, 500, 1000, 5000]);
        return buckets;
    }
}
