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

    /// <summary>
    /// Character budget of the pinned turns a prompt carries ahead of its recent turns (pinned turns
    /// that are among the recent ones count against <see cref="PromptBudgetChars"/> instead); the
    /// oldest pins are dropped first. Default: 4000.
    /// </summary>
    [Range(0, 1_000_000)]
    public int PinnedBudgetChars { get; set; } = 4_000;

    /// <summary>
    /// The system prompt of characters that have none of their own (a character's own may include it
    /// as <c>{{original}}</c>). <c>{{char}}</c> and <c>{{user}}</c> are replaced as in a character's
    /// texts. Default: "You are {{char}}. Write {{char}}'s next reply in this fictional chat with
    /// {{user}}: stay in character, and never speak for {{user}}."
    /// </summary>
    public string SystemPrompt { get; set; } = DefaultSystemPrompt;

    /// <summary>What <see cref="SystemPrompt"/> is unless configured.</summary>
    public const string DefaultSystemPrompt =
        "You are {{char}}. Write {{char}}'s next reply in this fictional chat with {{user}}: stay in character, and never speak for {{user}}.";

    /// <summary>
    /// Character budget of a prompt's definition (the system prompt, the character's definition, the
    /// user's persona, and the post-history instructions), after <c>{{char}}</c> and <c>{{user}}</c> are
    /// replaced. A definition is at most <c>Chat:MaxDefinitionChars</c> as written, so only names that
    /// replace many placeholders can reach it; then example dialogues are cut first. Default: 48000.
    /// </summary>
    [Range(1_000, 1_000_000)]
    public int DefinitionBudgetChars { get; set; } = 48_000;

    /// <summary>How often the recovery sweeper looks for owed replies whose lease expired. Default: 5 s.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most owed replies claimed by one sweep. Default: 100.</summary>
    [Range(1, 10_000)]
    public int ClaimBatchSize { get; set; } = 100;

    /// <summary>How long shutdown waits for replies in flight before leaving them owed for another replica. Default: 10 s.</summary>
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a finished reply's live event log stays in memory for late resumers. Default: 60 s.</summary>
    public TimeSpan FinishedStreamRetention { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The first interval at which a replica following a reply it does not own reads storage, when
    /// the shared log can't tell (Redis down, or no log); it doubles up to
    /// <see cref="FollowStorageMaxInterval"/>. One read per followed reply per replica, however
    /// many callers follow it. Default: 250 ms.
    /// </summary>
    public TimeSpan StoragePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest interval between those storage reads. Default: 2 s.</summary>
    public TimeSpan FollowStorageMaxInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a followed reply's log is read without a wake-up (they are best effort, and are
    /// lost while a subscription is re-made after a failover). Default: 1 s.
    /// </summary>
    public TimeSpan FollowPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A followed reply whose log shows nothing new for this long is looked up in storage once
    /// (then again after as long), in case it was settled by a replica that could not write the
    /// log. Default: 10 s.
    /// </summary>
    public TimeSpan FollowStallCheck { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// At most one append to the shared log per this interval for a reply being generated: events
    /// that come sooner after the last append gather and go in the next one; an event that comes
    /// later goes at once. The caller on this replica gets each token at once. Default: 25 ms.
    /// </summary>
    public TimeSpan LogFlushInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Text waiting for the shared log that sends it before the interval is over. Default: 1024.</summary>
    [Range(1, 1_000_000)]
    public int LogFlushCharacters { get; set; } = 1024;

    /// <summary>How long a reply's shared log is kept after its last append (its final event, usually). Default: 10 min.</summary>
    public TimeSpan LogRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Appends a reply's shared log keeps (approximately; older ones are trimmed). At 40 appends a
    /// second that is over a minute of generation. Default: 5000.
    /// </summary>
    [Range(100, 1_000_000)]
    public int LogMaxEntries { get; set; } = 5000;
}
