using System.Diagnostics.Metrics;

namespace ChatService.Privacy;

/// <summary>DeleteMyData's instruments, for operators following deletions. Recording never throws.</summary>
internal static class DataDeletionMetrics
{
    public const string MeterName = "ChatService.Privacy";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Deleted = Meter.CreateCounter<long>(
        "chat.data_deletion.deleted", unit: "{item}", description: "What deletions of users' data removed, by kind (chat, character, persona, lorebook, cache_key).");

    private static readonly Counter<long> Runs = Meter.CreateCounter<long>(
        "chat.data_deletion.runs", unit: "{run}", description: "Runs of a deletion on this replica, by outcome (finished, lease_lost, failed, stopped).");

    private static readonly Counter<long> Batches = Meter.CreateCounter<long>(
        "chat.data_deletion.batches", unit: "{commit}", description: "Batches committed by deletions (each one Spanner commit within the mutation budget).");

    private static readonly UpDownCounter<long> Active = Meter.CreateUpDownCounter<long>(
        "chat.data_deletion.active", unit: "{deletion}", description: "Deletions this replica is working now.");

    private static readonly Counter<long> Deferred = Meter.CreateCounter<long>(
        "chat.data_deletion.purge_deferred", unit: "{key}", description: "Cache keys a deletion could not purge (Redis down or slow), left pending for a later batch or a resume.");

    private static readonly Counter<long> Failures = Meter.CreateCounter<long>(
        "chat.data_deletion.failures", unit: "{attempt}",
        description: "Failed runs of deletions, each followed by a backoff; stuck=true once the backoff is at its maximum (DataDeletion:MaxRetryBackoff): a deletion that keeps failing and needs an operator.");

    private static readonly Counter<long> Halvings = Meter.CreateCounter<long>(
        "chat.data_deletion.batch_halvings", unit: "{commit}", description: "Batches Spanner refused for their mutations (count or size), retried at half the budget.");

    private static readonly Counter<long> Renewals = Meter.CreateCounter<long>(
        "chat.data_deletion.lease_renewals", unit: "{renewal}", description: "Renewals of a deletion's lease by its run's keeper, every third of the lease for the whole run (next to each batch's commit, which extends it too).");

    private static readonly Counter<long> RenewalFailures = Meter.CreateCounter<long>(
        "chat.data_deletion.lease_renewal_failures", unit: "{renewal}", description: "Renewals of a deletion's lease that failed (Spanner trouble); retried a third of the lease later.");

    public static void Failed(bool stuck) => Failures.Add(1, new KeyValuePair<string, object?>("stuck", stuck));

    public static void Halved() => Halvings.Add(1);

    public static void LeaseRenewed() => Renewals.Add(1);

    public static void LeaseRenewalFailed() => RenewalFailures.Add(1);

    public static void PurgeDeferred(long keys) => Deferred.Add(keys);

    public static void Removed(string kind, long count)
    {
        if (count > 0)
        {
            Deleted.Add(count, new KeyValuePair<string, object?>("kind", kind));
        }
    }

    public static void Run(string outcome) => Runs.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public static void Batch() => Batches.Add(1);

    public static void Started() => Active.Add(1);

    public static void Ended() => Active.Add(-1);
}
