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

    /// <summary>
    /// Token ceiling of a prompt's recent turns (the newest user turn included); the oldest are dropped
    /// first. Counted by the route's tokenizer, as every <c>*Tokens</c> budget here; the route's own
    /// budget (<c>Inference:ContextTokens</c> less <c>ReplyReserveTokens</c>) bounds the whole prompt.
    /// Default: <see cref="PromptBudgetChars"/> / 4 when that is configured, else 37% of the route's
    /// prompt budget, at most 3000 (see <see cref="DefaultShares"/>).
    /// </summary>
    [Range(1, 10_000_000)]
    public int? HistoryBudgetTokens { get; set; }

    /// <summary>
    /// Deprecated (before token budgets): a character budget of the recent turns, read as
    /// <see cref="HistoryBudgetTokens"/> = chars / 4 when that is not set.
    /// </summary>
    [Range(100, 1_000_000)]
    public int? PromptBudgetChars { get; set; }

    /// <summary>
    /// Token ceiling of the pinned turns a prompt carries ahead of its recent turns (pinned turns that
    /// are among the recent ones count as recent turns); the oldest pins are dropped first.
    /// Default: <see cref="PinnedBudgetChars"/> / 4 when that is configured, else 8% of the route's prompt
    /// budget, at most 1000.
    /// </summary>
    [Range(0, 10_000_000)]
    public int? PinnedBudgetTokens { get; set; }

    /// <summary>Deprecated: a character budget of the pins, read as <see cref="PinnedBudgetTokens"/> = chars / 4 when that is not set.</summary>
    [Range(0, 1_000_000)]
    public int? PinnedBudgetChars { get; set; }

    /// <summary>
    /// Token ceiling of a prompt's first system message (the system prompt, the character's definition,
    /// the user's persona) after <c>{{char}}</c> and <c>{{user}}</c> are replaced; past it, example
    /// dialogues are cut first. Default: <see cref="DefinitionBudgetChars"/> / 4 when that is configured,
    /// else 30% of the route's prompt budget, at most 12000.
    /// </summary>
    [Range(100, 10_000_000)]
    public int? DefinitionBudgetTokens { get; set; }

    /// <summary>Deprecated: a character budget of the definition, read as <see cref="DefinitionBudgetTokens"/> = chars / 4 when that is not set.</summary>
    [Range(1_000, 1_000_000)]
    public int? DefinitionBudgetChars { get; set; }

    /// <summary>Token ceiling of the chat's memory note in a prompt (its end is cut past it). Default: 4% of the route's prompt budget, at most 500.</summary>
    [Range(0, 10_000_000)]
    public int? MemoryBudgetTokens { get; set; }

    /// <summary>Token ceiling of the rolling summary in a prompt (its beginning is cut past it). Default: 8% of the route's prompt budget, at most 1000.</summary>
    [Range(0, 10_000_000)]
    public int? SummaryBudgetTokens { get; set; }

    /// <summary>Token ceiling of the lore entries in a prompt (the lowest orders are dropped past it). Default: 8% of the route's prompt budget, at most 1000.</summary>
    [Range(0, 10_000_000)]
    public int? LoreBudgetTokens { get; set; }

    /// <summary>
    /// Whether the assembled prompt of each reply is stored with its candidate (compressed; see
    /// <c>GetReplyPrompt</c>) for the chat's owner and admins to read. Default: true.
    /// </summary>
    public bool StorePrompts { get; set; } = true;

    /// <summary>
    /// Whether each reply records the wall-clock time of its stages before the first token as
    /// <c>chat.reply.stage.duration</c> (fine buckets, one series per stage; see <see cref="ReplyStages"/>).
    /// For benchmarks and investigations. Default: false.
    /// </summary>
    public bool StageTimings { get; set; }

    /// <summary>
    /// The largest stored prompt, compressed; a larger one is stored without its messages (its section
    /// counts only). Default: 262144 (256 KiB).
    /// </summary>
    [Range(1_024, 8 * 1024 * 1024)]
    public int StoredPromptMaxBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// What an unset ceiling is: a share of the route's prompt budget (percent), at most a fixed number of
    /// tokens. The shares leave 5% for the messages' framing and the post-history instructions, so with
    /// every section full the recent turns still get theirs: a fixed default (the definition's was 12,000
    /// tokens) would outgrow a small route (8192 less 512 by default) and leave a large character only the
    /// newest user turn. Higher-priority sections take at most 58% of any route.
    /// </summary>
    internal static class DefaultShares
    {
        public const int Definition = 30, DefinitionMax = 12_000;
        public const int Pinned = 8, PinnedMax = 1_000;
        public const int Memory = 4, MemoryMax = 500;
        public const int Summary = 8, SummaryMax = 1_000;
        public const int Lore = 8, LoreMax = 1_000;
        public const int History = 37, HistoryMax = 3_000;
    }

    /// <summary>The section ceilings of a prompt counted by <paramref name="budget"/>'s tokenizer, within it.</summary>
    internal Inference.PromptBudgets PromptBudgets(Inference.RoutePromptBudget budget)
    {
        var prompt = budget.PromptTokens;
        int Share(int percent, int max) => (int)Math.Min(max, (long)prompt * percent / 100);
        return new(budget.Tokenizer, prompt)
        {
            HistoryTokens = HistoryBudgetTokens ?? (PromptBudgetChars is { } history ? Inference.TokenEstimate.FromChars(history) : Share(DefaultShares.History, DefaultShares.HistoryMax)),
            PinnedTokens = PinnedBudgetTokens ?? (PinnedBudgetChars is { } pinned ? Inference.TokenEstimate.FromChars(pinned) : Share(DefaultShares.Pinned, DefaultShares.PinnedMax)),
            DefinitionTokens = DefinitionBudgetTokens ?? (DefinitionBudgetChars is { } definition ? Inference.TokenEstimate.FromChars(definition) : Share(DefaultShares.Definition, DefaultShares.DefinitionMax)),
            MemoryTokens = MemoryBudgetTokens ?? Share(DefaultShares.Memory, DefaultShares.MemoryMax),
            SummaryTokens = SummaryBudgetTokens ?? Share(DefaultShares.Summary, DefaultShares.SummaryMax),
            LoreTokens = LoreBudgetTokens ?? Share(DefaultShares.Lore, DefaultShares.LoreMax),
        };
    }

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
