using System.ComponentModel.DataAnnotations;

namespace ChatService.Privacy;

/// <summary>DeleteMyData's batches, lease and sweep. Bound from the <c>DataDeletion</c> section.</summary>
public sealed class DataDeletionOptions : IValidatableObject
{
    public const string Section = "DataDeletion";

    /// <summary>
    /// How long a replica working a deletion holds it before another may take it over. The run renews it every
    /// third of it while it works (and with every batch's commit), so a slow batch does not lose it; it runs
    /// out only when the replica died or cannot reach Spanner. Default: 30 s.
    /// </summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each replica looks for deletions whose lease ran out (their caller went away and their replica died). Default: 30 s.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a DeleteMyData call whose deletion another replica works checks on it. Default: 500 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Most chats read for one batch (fewer are deleted when they would cost more than <see cref="MutationBudget"/>). Default: 100.</summary>
    [Range(1, 1000)]
    public int ChatsPerBatch { get; set; } = 100;

    /// <summary>Most characters scrubbed, or lorebooks deleted, in one batch. Default: 20.</summary>
    [Range(1, 200)]
    public int DefinitionsPerBatch { get; set; } = 20;

    /// <summary>
    /// Most mutations (as estimated: rows and their index entries) one batch's commit may take; Spanner refuses
    /// a commit over 80,000. A chat over it alone loses its turns a budget at a time first. Default: 20,000.
    /// </summary>
    [Range(100, 60_000)]
    public int MutationBudget { get; set; } = 20_000;

    /// <summary>
    /// How long a deletion whose run failed waits before its next attempt, doubled with each failure in a row
    /// (a run that commits a batch starts the count again), so a deletion that fails every time (a bug, a row
    /// Spanner refuses) does not hammer the database from every replica. Default: 10 s.
    /// </summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The longest wait between attempts. A deletion never gives up: once its backoff reaches this it is
    /// retried at this interval for ever, logged and counted as stuck (<c>chat.data_deletion.failures</c>
    /// with <c>stuck=true</c>) until someone fixes the cause. Default: 15 min.
    /// </summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The secret of the HMAC-SHA256 that turns a user id into the deletion record's key (<c>UserKey</c>), so the
    /// record that stays after the deletion cannot be traced back to a guessable user id without it. At least
    /// 32 characters. Required outside the Development environment (the service refuses to start without it);
    /// in Development, unset means a fixed development secret, with a warning at start-up (anyone can
    /// recompute keys made with it). Changing it makes the records written under the old one unreachable by their users:
    /// GetDataDeletion answers NOT_FOUND until the user deletes again, and a repeat of a finished request
    /// deletes again instead of returning it. Deletions still running under the old key are finished by the
    /// sweep, which reads keys from the table. Default: none.
    /// </summary>
    public string? UserKeySecret { get; set; }

    /// <summary>The secret used when <see cref="UserKeySecret"/> is not set: public, so for development only.</summary>
    internal const string DevelopmentUserKeySecret = "chatservice-development-only-data-deletion-user-key";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UserKeySecret is { } secret && secret.Length < 32)
        {
            yield return new ValidationResult($"{Section}:UserKeySecret must be at least 32 characters (or unset, for development only)", [nameof(UserKeySecret)]);
        }

        if (RetryBackoff < TimeSpan.FromMilliseconds(10) || RetryBackoff > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"{Section}:RetryBackoff must be between 10 ms and 1 h, got {RetryBackoff}", [nameof(RetryBackoff)]);
        }

        if (MaxRetryBackoff < RetryBackoff || MaxRetryBackoff > TimeSpan.FromDays(1))
        {
            yield return new ValidationResult($"{Section}:MaxRetryBackoff must be between RetryBackoff ({RetryBackoff}) and 1 day, got {MaxRetryBackoff}", [nameof(MaxRetryBackoff)]);
        }

        if (Lease < TimeSpan.FromSeconds(1) || Lease > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"{Section}:Lease must be between 1 s and 1 h, got {Lease}", [nameof(Lease)]);
        }

        if (SweepInterval < TimeSpan.FromMilliseconds(100) || SweepInterval > TimeSpan.FromHours(1))
        {
            yield return new ValidationResult($"{Section}:SweepInterval must be between 100 ms and 1 h, got {SweepInterval}", [nameof(SweepInterval)]);
        }

        if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > Lease)
        {
            yield return new ValidationResult($"{Section}:PollInterval must be between 10 ms and the lease ({Lease}), got {PollInterval}", [nameof(PollInterval)]);
        }
    }
}
