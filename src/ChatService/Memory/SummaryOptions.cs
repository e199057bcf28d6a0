using System.ComponentModel.DataAnnotations;

namespace ChatService.Memory;

/// <summary>The rolling-summary job. Bound from the <c>Summary</c> section.</summary>
public sealed class SummaryOptions : IValidatableObject
{
    public const string Section = "Summary";

    /// <summary>Whether replies trigger the job and the sweep runs. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The route that writes summaries (see <c>Inference:Routes</c>); empty for the route of the chat's
    /// first character. A cheaper model than the characters' is the usual choice. Default: empty.
    /// </summary>
    public string Route { get; set; } = "";

    /// <summary>
    /// K: a summary is written once at least this many turns fell out of the prompt window since the
    /// last one (so at most once every K turns of a chat). Default: 20.
    /// </summary>
    [Range(1, 10_000)]
    public int EveryTurns { get; set; } = 20;

    /// <summary>Most turns one job folds in; a longer backlog takes several jobs, oldest turns first. Default: 200.</summary>
    [Range(1, 10_000)]
    public int MaxTurnsPerJob { get; set; } = 200;

    /// <summary>
    /// Characters of turn text one job sends at most: past it the job ends its span earlier (the rest goes
    /// to the next job), always taking at least one turn. Default: 24000.
    /// </summary>
    [Range(1_000, 1_000_000)]
    public int MaxInputChars { get; set; } = 24_000;

    /// <summary>Longest summary stored, in characters (a longer answer is cut at the end). Default: 4000.</summary>
    [Range(100, 100_000)]
    public int MaxSummaryChars { get; set; } = 4_000;

    /// <summary>Output tokens asked of the model. Default: 512.</summary>
    [Range(16, 32_000)]
    public int MaxOutputTokens { get; set; } = 512;

    /// <summary>
    /// What the model is told to do; <c>{{char}}</c> becomes the cast's names, <c>{{user}}</c> "User".
    /// Default: <see cref="DefaultInstructions"/>.
    /// </summary>
    public string Instructions { get; set; } = DefaultInstructions;

    public const string DefaultInstructions =
        "You keep the running summary of a fictional chat between {{user}} and {{char}}. Rewrite the summary so that it " +
        "covers both the earlier summary and the new messages: who is who, what happened, what was decided or promised, " +
        "and what is still open, in the order it happened. Write plain prose in the past tense. Reply with the summary only.";

    /// <summary>How long a claimed job is its replica's before another may take it over (longer than a call can take). Default: 2 min.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest a job's model call may take. Default: 90 s.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>How long a failed job waits before the sweep tries it again. Default: 30 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Attempts at one span before it is left for <see cref="GiveUpPause"/> (a later trigger for a longer
    /// span tries again at once), counted when the lease is taken, so runs that crash or throw count too. Default: 5.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// How long a span tried <see cref="MaxAttempts"/> times is left before its count starts afresh (the
    /// chat's next trigger tries it again), so a summary route that was down for a while, or a span its
    /// model refused, does not stop the chat's summaries for good: its span is capped at
    /// <see cref="MaxTurnsPerJob"/> past the last summary, so every later trigger names that same span. Default: 30 min; at most 7 days.
    /// </summary>
    public TimeSpan GiveUpPause { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The longest <see cref="GiveUpPause"/> accepted.</summary>
    internal static readonly TimeSpan MaxGiveUpPause = TimeSpan.FromDays(7);

    /// <summary>
    /// Sorted sets the held leases are listed in for the sweep (<c>summary:leases:{k}</c>, k by a stable
    /// hash of the chat id), so that no one Redis key or slot serves every chat's jobs; each sweep reads
    /// them all. Lowering it on a running deployment leaves the jobs listed in the dropped shards to the
    /// chats' next triggers. Default: 16.
    /// </summary>
    [Range(1, 1024)]
    public int LeaseShards { get; set; } = 16;

    /// <summary>How often each replica looks for jobs whose lease or retry delay ran out. Default: 15 s.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a span's attempt count (and the chat's summary hash) outlives its last write: long enough for every retry.</summary>
    internal TimeSpan AttemptsKept => (Lease + RetryDelay + SweepInterval) * (MaxAttempts + 1);

    /// <summary>Jobs waiting on this replica; a trigger that finds the queue full is dropped (a later reply triggers again). Default: 1000.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Jobs run at once by this replica. Default: 2.</summary>
    [Range(1, 1_000)]
    public int MaxConcurrentJobs { get; set; } = 2;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MaxTurnsPerJob < EveryTurns)
        {
            yield return new ValidationResult("Summary:MaxTurnsPerJob must be at least Summary:EveryTurns", [nameof(MaxTurnsPerJob)]);
        }

        if (Lease <= CallTimeout)
        {
            yield return new ValidationResult("Summary:Lease must be longer than Summary:CallTimeout", [nameof(Lease)]);
        }

        // Capped: the pause is added to a timestamp in Spanner (TIMESTAMP_ADD) and to Unix ms in Redis, and
        // a huge value would overflow both; a week is far past any pause worth having.
        if (GiveUpPause <= TimeSpan.Zero || GiveUpPause > MaxGiveUpPause)
        {
            yield return new ValidationResult("Summary:GiveUpPause must be positive and at most 7 days", [nameof(GiveUpPause)]);
        }

        if (SweepInterval <= TimeSpan.Zero || RetryDelay < TimeSpan.Zero)
        {
            yield return new ValidationResult("Summary:SweepInterval must be positive and Summary:RetryDelay not negative", [nameof(SweepInterval)]);
        }
    }
}
