using System.ComponentModel.DataAnnotations;

namespace ChatService.Dispatch;

/// <summary>The reply pipeline's queue, workers, recovery and streams. Bound from the <c>Dispatch</c> section.</summary>
public sealed class DispatchOptions
{
    public const string Section = "Dispatch";

    /// <summary>Reply jobs waiting for a worker before SendMessage answers RESOURCE_EXHAUSTED. Default: 1000.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Replies generated at once by this replica. Default: 1024.</summary>
    [Range(1, 100_000)]
    public int MaxConcurrentReplies { get; set; } = 1024;

    /// <summary>
    /// Reply outcomes this replica stores at once; the others wait for a slot. Replies that finish
    /// together (a model backend recovering, a burst of short answers) then queue here instead of as
    /// thousands of concurrent Spanner commits, each holding its buffers and a session. Default: 64.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConcurrentSettles { get; set; } = 64;

    /// <summary>Most recent turns put in a prompt (before the character budget). Default: 20.</summary>
    [Range(1, 100)]
    public int PromptWindowTurns { get; set; } = 20;

    /// <summary>Character budget of a prompt's history; the oldest turns are dropped first. Default: 12000.</summary>
    [Range(100, 1_000_000)]
    public int PromptBudgetChars { get; set; } = 12_000;

    /// <summary>How often the recovery sweeper looks for owed replies whose lease expired. Default: 5 s.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most owed replies claimed by one sweep. Default: 100.</summary>
    [Range(1, 10_000)]
    public int ClaimBatchSize { get; set; } = 100;

    /// <summary>How long shutdown waits for replies in flight before leaving them owed for another replica. Default: 10 s.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a finished reply's live event log stays in memory for late resumers. Default: 60 s.</summary>
    public TimeSpan FinishedStreamRetention { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a stream of a reply generated elsewhere polls storage for its outcome. Default: 250 ms.</summary>
    public TimeSpan StoragePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}
