using System.ComponentModel.DataAnnotations;

namespace ChatService.Privacy;

/// <summary>DeleteMyData's batches, lease and sweep. Bound from the <c>DataDeletion</c> section.</summary>
public sealed class DataDeletionOptions : IValidatableObject
{
    public const string Section = "DataDeletion";

    /// <summary>
    /// How long a replica working a deletion holds it before another may take it over; every batch's commit
    /// renews it, so it must be longer than a batch takes. Default: 30 s.
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

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
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
