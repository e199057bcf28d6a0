using System.Diagnostics.Metrics;

namespace ChatService.Dispatch;

/// <summary>The reply pipeline's instruments. Recording never throws.</summary>
internal static class DispatchMetrics
{
    public const string MeterName = "ChatService.Dispatch";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Replies = Meter.CreateCounter<long>("chat.replies", description: "Replies settled, by final state.");
    private static readonly Counter<long> Recovered = Meter.CreateCounter<long>("chat.replies.recovered", description: "Owed replies claimed by the recovery sweeper.");
    private static readonly Counter<long> Rejected = Meter.CreateCounter<long>("chat.replies.rejected", description: "Reply jobs refused because the queue was full.");
    private static Func<int>? s_queueDepth;
    private static Func<int>? s_inFlight;
    private static Func<int>? s_settlesWaiting;

    static DispatchMetrics()
    {
        Meter.CreateObservableGauge("chat.dispatch.queue_depth", () => s_queueDepth?.Invoke() ?? 0, description: "Reply jobs waiting for a worker.");
        Meter.CreateObservableGauge("chat.dispatch.in_flight", () => s_inFlight?.Invoke() ?? 0, description: "Reply jobs being generated.");
        Meter.CreateObservableGauge("chat.dispatch.settles_waiting", () => s_settlesWaiting?.Invoke() ?? 0,
            description: "Finished replies waiting for a slot to store their outcome.");
    }

    public static void ObserveQueue(Func<int> depth, Func<int> inFlight)
    {
        s_queueDepth = depth;
        s_inFlight = inFlight;
    }

    public static void ObserveSettles(Func<int> waiting) => s_settlesWaiting = waiting;

    public static void ReplySettled(string state) => Replies.Add(1, new KeyValuePair<string, object?>("state", state));

    public static void ReplyRecovered(int count) => Recovered.Add(count);

    public static void JobRejected() => Rejected.Add(1);
}
