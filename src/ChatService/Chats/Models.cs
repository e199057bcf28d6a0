using System.Globalization;

namespace ChatService.Chats;

/// <summary>Who may see a character and start chats with it.</summary>
public enum CharacterVisibility
{
    Private = 1,
    Public = 2,

    /// <summary>Seen and used by anyone with its id; never listed.</summary>
    Unlisted = 3,
}

/// <summary>Who wrote a turn. Stored as its number.</summary>
public enum AuthorRole
{
    User = 1,
    Character = 2,
}

/// <summary>Lifecycle of a candidate reply. Stored as its number; a state only moves forward.</summary>
public enum ReplyState
{
    Pending = 1,
    Streaming = 2,
    Complete = 3,
    Failed = 4,
    Cancelled = 5,

    /// <summary>
    /// Withheld by moderation: stored without its text (only its category, <c>Candidates.FilterCategory</c>),
    /// never shown, never in a prompt or a summary, never selectable.
    /// </summary>
    Filtered = 6,
}

/// <summary>
/// A character that answers in chats: its definition (the Character Card fields) and its
/// bookkeeping. <see cref="Persona"/> is the author's own definition text; the optional card sections
/// default to empty.
/// </summary>
public sealed record Character(
    string Id,
    string OwnerUserId,
    string DisplayName,
    string Persona,
    string? Greeting,
    string ModelRoute,
    CharacterVisibility Visibility,
    DateTimeOffset CreateTime)
{
    public string Description { get; init; } = "";

    public string Personality { get; init; } = "";

    public string Scenario { get; init; } = "";

    /// <summary>Example exchanges (card <c>mes_example</c>).</summary>
    public string ExampleDialogues { get; init; } = "";

    /// <summary>Replaces the service's default system prompt when not empty.</summary>
    public string SystemPrompt { get; init; } = "";

    /// <summary>Sent after the last user turn.</summary>
    public string PostHistoryInstructions { get; init; } = "";

    public IReadOnlyList<string> AlternateGreetings { get; init; } = [];

    /// <summary>For people only: never part of a prompt.</summary>
    public string CreatorNotes { get; init; } = "";

    public IReadOnlyList<string> Tags { get; init; } = [];

    public string AvatarUrl { get; init; } = "";

    public string Creator { get; init; } = "";

    /// <summary>The card's own version label (card <c>character_version</c>).</summary>
    public string CharacterVersion { get; init; } = "";

    /// <summary>The card spec (2 or 3) it was imported as; null when made with CreateCharacter. The rest of the card is a <see cref="StoredCard"/>.</summary>
    public int? CardSpec { get; init; }

    /// <summary>1 when created, one more with every update.</summary>
    public long Version { get; init; } = 1;

    public DateTimeOffset? UpdateTime { get; init; }

    /// <summary>Set once deleted: no new chats; existing ones stay readable.</summary>
    public DateTimeOffset? DeleteTime { get; init; }

    public bool IsDeleted => DeleteTime is not null;

    /// <summary>How many chats were started with it, as last folded from its counter rows (approximate; the "most used" order).</summary>
    public long ChatCount { get; init; }

    /// <summary>What a character is when a request leaves its talkativeness unset (SillyTavern's default too).</summary>
    public const double DefaultTalkativeness = 0.5;

    /// <summary>
    /// How likely it is to speak up in a group chat with the NATURAL strategy, 0..1: the chance that a
    /// member the message does not mention answers it. Card <c>data.extensions.talkativeness</c>.
    /// </summary>
    public double Talkativeness { get; init; } = DefaultTalkativeness;

    /// <summary>Private characters are visible only to their creator; public and unlisted ones to anyone.</summary>
    public bool IsVisibleTo(string userId) => Visibility != CharacterVisibility.Private || OwnerUserId == userId;
}

/// <summary>
/// A chat between one user and one or more characters. <see cref="RotationCursor"/> is the
/// ROTATION strategy's position in <see cref="CharacterIds"/>.
/// </summary>
public sealed record Chat(
    string Id,
    string UserId,
    string Title,
    IReadOnlyList<string> CharacterIds,
    long LastSeq,
    long RotationCursor,
    string LastMessagePreview,
    DateTimeOffset CreateTime,
    DateTimeOffset LastActiveTime,
    IReadOnlyList<long>? PinnedSeqs = null,
    ForkOrigin? ForkedFrom = null,
    string? PersonaId = null)
{
    /// <summary>The chat's speaker settings; null where they were not read (ListChats: the index does not store them).</summary>
    public SpeakerSettings? Speakers { get; init; }

    /// <summary>When the chat was archived; null while it is not (ListChats leaves it out unless asked for archived chats).</summary>
    public DateTimeOffset? ArchiveTime { get; init; }

    /// <summary>
    /// The cast's names and talkativeness in <see cref="CharacterIds"/> order, read in the same statement
    /// as the chat by the recording transactions, and only when the strategy needs them (NATURAL); null otherwise.
    /// </summary>
    public IReadOnlyList<CastMember>? Members { get; init; }
}

/// <summary>Where a forked chat came from: the original chat and the last turn copied.</summary>
public sealed record ForkOrigin(string ChatId, long Seq);

/// <summary>
/// One turn of a chat as history shows it: a user message, or a character reply with its primary
/// candidate's text and state. <see cref="Version"/> is the commit time of the turn's last change
/// in Unix microseconds: every change to a turn or its primary candidate commits a newer one, so
/// caches can refuse to move a turn backwards. A <see cref="Hidden"/> turn (rewound or deleted) is
/// never shown: caches keep only its number and version, so that history around it stays contiguous.
/// </summary>
public sealed record ChatTurn(
    string ChatId,
    long Seq,
    AuthorRole Role,
    string? CharacterId,
    string Text,
    ReplyState State,
    string? CandidateId,
    int CandidateCount,
    DateTimeOffset CreateTime,
    string? FailureReason,
    long? ReplyToSeq,
    long Version = 0,
    bool Hidden = false,
    bool Edited = false,
    TurnRating? Rating = null,
    ReplyFailureCode? FailureCode = null)
{
    /// <summary>
    /// How many times ContinueReply extended the candidate's text (0: never). While a continuation is
    /// owed this is its number, and the reply's events for it are those of <see cref="ReplyKey"/> with
    /// that <see cref="ReplyKey.Continuation"/>.
    /// </summary>
    public int Continuations { get; init; }

    /// <summary>
    /// The moderation category a <see cref="ReplyState.Filtered"/> candidate was withheld for (<c>Candidates.FilterCategory</c>),
    /// so clients get it as a field rather than parsing <see cref="FailureReason"/>; null otherwise.
    /// </summary>
    public string? FilterCategory { get; init; }

    /// <summary>
    /// Set when the candidate's latest continuation (number <see cref="Continuations"/>) failed without adding
    /// text, so the candidate went back to its state before it: that continuation's failure, with which its
    /// stream ended and with which a replay of it from storage ends too. Read with one candidate from storage
    /// (caches do not keep it: only replays from storage need it); null otherwise.
    /// </summary>
    public ReplyFailure? UndoneContinuation { get; init; }

    /// <summary>The events of the candidate's newest generation: the reply itself, or its latest continuation.</summary>
    public ReplyKey ReplyKey => new(ChatId, Seq, CandidateId!, Continuations);

    /// <summary>A hidden turn as caches keep it: its number and version only.</summary>
    public static ChatTurn HiddenMarker(string chatId, long seq, long version) =>
        new(chatId, seq, AuthorRole.User, null, "", ReplyState.Complete, null, 0, default, null, null, version, Hidden: true);

    /// <summary>The version of a turn whose last committed change happened at <paramref name="commitTimestamp"/>.</summary>
    public static long VersionAt(DateTimeOffset commitTimestamp) => (commitTimestamp - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
}

/// <summary>How a reply (or one of its continuations) failed: its code and reason.</summary>
public sealed record ReplyFailure(ReplyFailureCode Code, string? Reason);

/// <summary>What SendMessage recorded (or found recorded, for a repeated request id).</summary>
public sealed record SendReceipt(ChatTurn UserTurn, IReadOnlyList<ChatTurn> PendingReplies, bool Duplicate);

/// <summary>What the caller asks SendMessage to record: the message, and the characters named to answer it.</summary>
public sealed record SendCommand(string UserId, string ChatId, string Text, string RequestId, IReadOnlyList<string> ReplyCharacterIds)
{
    public UserMessage Message => new(UserId, ChatId, Text, RequestId);
}

/// <summary>A user turn to record, idempotent on its request id.</summary>
public sealed record UserMessage(string UserId, string ChatId, string Text, string RequestId);

/// <summary>
/// Identifies one generation of a candidate reply: the unit that is generated, streamed and stored.
/// <see cref="Continuation"/> is 0 for the reply as first generated and n for its n-th ContinueReply,
/// each with an event stream (and log) of its own; storage knows only the candidate.
/// </summary>
public readonly record struct ReplyKey(string ChatId, long Seq, string CandidateId, int Continuation = 0)
{
    /// <summary>
    /// Bits of a wire event sequence below the continuation's number: continuation n's events are
    /// numbered on the wire from n × 2^40, above every attempt's range (attempt × 2^32) of the ones
    /// before, so a candidate's event sequences keep increasing across its continuations.
    /// </summary>
    public const int ContinuationShift = 40;

    /// <summary>What this generation's event sequences are offset by on the wire.</summary>
    public long SequenceBase => (long)Continuation << ContinuationShift;

    public override string ToString() => Continuation == 0 ? $"{ChatId}/{Seq}/{CandidateId}" : $"{ChatId}/{Seq}/{CandidateId}+{Continuation}";

    /// <summary>Reads back what <see cref="ToString"/> wrote (how a cancel signal names the reply); false for anything else.</summary>
    public static bool TryParse(string? text, out ReplyKey key)
    {
        key = default;
        var parts = text?.Split('/');
        if (parts is not [var chatId, var seqText, var candidate] || !long.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        var plus = candidate.IndexOf('+', StringComparison.Ordinal);
        var continuation = 0;
        if (plus >= 0 && !int.TryParse(candidate.AsSpan(plus + 1), NumberStyles.None, CultureInfo.InvariantCulture, out continuation))
        {
            return false;
        }

        key = new ReplyKey(chatId, seq, plus >= 0 ? candidate[..plus] : candidate, continuation);
        return true;
    }
}

/// <summary>
/// Everything a worker needs to generate a reply, read when it starts: the speaker and the cast at
/// their current versions, the reply as its turn shows it with that candidate, and the replica
/// holding its lease when the reader knows it.
/// </summary>
public sealed record ReplyContext(
    string UserId,
    Character Speaker,
    IReadOnlyDictionary<string, Character> Cast,
    IReadOnlyList<ChatTurn> WindowOldestFirst,
    ChatTurn Reply,
    string? LeaseOwner)
{
    /// <summary>
    /// The chat's pinned turns before the reply that are shown (not rewound or deleted), oldest first;
    /// some may also be among <see cref="WindowOldestFirst"/> (the prompt does not repeat them).
    /// </summary>
    public IReadOnlyList<ChatTurn> Pinned { get; init; } = [];

    /// <summary>
    /// The persona the chat's user speaks to <see cref="Speaker"/> as (the chat's pinned one if it still
    /// exists, else the user's override for the speaker, else the user's default); null when there is none.
    /// Read with the reply's context, so a reply uses the persona current when it is generated.
    /// </summary>
    public UserPersona? Persona { get; init; }

    /// <summary>The lorebooks the reply uses (the speaker's own and the chat's), as read with the context; <see cref="Memory"/> holds what they triggered.</summary>
    public IReadOnlyList<Lorebook> Lorebooks { get; init; } = [];

    /// <summary>
    /// What the chat remembers beyond <see cref="WindowOldestFirst"/>: its memory note at its depth and
    /// its latest rolling summary (only one that ends before the reply), read with the window, and the
    /// lore entries its books' keys trigger (ReplyContextLoader). The prompt assembler places them.
    /// </summary>
    public Inference.PromptMemory Memory { get; init; } = Inference.PromptMemory.None;

    /// <summary>
    /// Whether the reply may be generated on <paramref name="replicaId"/>: it is still owed (pending)
    /// and leased there. A context read from the cached window has no lease (null): the lease the
    /// job was queued or claimed under stands, and the settle commit checks it in the end.
    /// </summary>
    public bool IsOwedBy(string replicaId) => Reply.State == ReplyState.Pending && (LeaseOwner is null || LeaseOwner == replicaId);
}

/// <summary>One attempt to generate a candidate, as the model-call log stores it.</summary>
public sealed record ModelCallRecord(
    string Backend,
    string Model,
    string Outcome,
    string? Error,
    DateTimeOffset? QueuedAt,
    DateTimeOffset StartedAt,
    DateTimeOffset? FirstTokenAt,
    DateTimeOffset FinishedAt,
    int? PromptTokens,
    int? CompletionTokens);

/// <summary>The final state of a generated reply, stored in one commit.</summary>
public sealed record ReplyOutcome(
    ReplyKey Key,
    ReplyState State,
    string Text,
    ReplyFailureCode? FailureCode,
    string? FailureReason,
    IReadOnlyList<ModelCallRecord> Calls)
{
    /// <summary>The prompt the calls were made with; null when none was (e.g. cancelled before generation).</summary>
    public Inference.AssembledPrompt? Prompt { get; init; }

    /// <summary>
    /// The largest <see cref="Prompt"/> stored with the candidate, compressed (<c>Dispatch:StoredPromptMaxBytes</c>);
    /// null stores no prompt (<c>Dispatch:StorePrompts</c> off), only its section counts on the model calls.
    /// </summary>
    public int? StorePromptMaxBytes { get; init; }

    /// <summary>The moderation category of a <see cref="ReplyState.Filtered"/> reply, stored with it.</summary>
    public string? FilterCategory { get; init; }
}

/// <summary>
/// A candidate reply as stored by settling or cancelling it, and whether it is its turn's primary
/// candidate (only then does the turn as history shows it change).
/// </summary>
public sealed record SettledReply(ChatTurn Reply, bool IsPrimary)
{
    /// <summary>When a cancel was only requested: the replica generating the reply, which will store it.</summary>
    public string? GeneratingReplica { get; init; }

    /// <summary>True when this very call settled it (a cancel of a reply nobody was generating), not an earlier one.</summary>
    public bool SettledNow { get; init; }
}

/// <summary>What a lease renewal found.</summary>
public enum LeaseStatus
{
    /// <summary>Still ours, now extended.</summary>
    Held,

    /// <summary>Settled, or taken over by another replica: stop.</summary>
    Lost,

    /// <summary>Still ours (extended), but the user asked to cancel: stop and store what was generated.</summary>
    CancelRequested,
}

/// <summary>
/// What a recovery sweep took over (to generate again), and what it settled instead: replies
/// whose cancellation was requested, and replies recovery has already retried too often.
/// </summary>
public sealed record ClaimResult(IReadOnlyList<ClaimedReply> Claimed, IReadOnlyList<SettledReply> Settled)
{
    public static readonly ClaimResult Empty = new([], []);
}

/// <summary>An owed reply recovery took over, with the number of the attempt this replica makes at it (2 for the first recovery).</summary>
public sealed record ClaimedReply(ReplyKey Key, int Attempt);

/// <summary>What an idempotent request that owes replies recorded (Regenerate, ContinueChat).</summary>
public sealed record OwedReplies(IReadOnlyList<ChatTurn> Replies, bool Duplicate)
{
    /// <summary>
    /// A repeated ContinueReply whose continuation has ended: the candidate its replay ends with (as stored; for an
    /// earlier continuation while a later one runs, as it was before that one). Once the continuation's log is gone
    /// its events are replayed from it (its text is the stored text past what the Accepted event shows), never from
    /// storage as a whole reply, which would add the earlier text a second time.
    /// </summary>
    public ChatTurn? EndedContinuation { get; init; }
}

/// <summary>
/// The newest turns of a chat with what readers check them against: the owner and the cast.
/// The window is contiguous: it holds every turn from <see cref="LastSeq"/> back, up to its size,
/// hidden ones as markers (<see cref="ChatTurn.Hidden"/>); <see cref="Shown"/> are the ones history shows.
/// </summary>
public sealed record ChatWindow(string ChatId, string UserId, IReadOnlyList<string> CharacterIds, long LastSeq, IReadOnlyList<ChatTurn> NewestFirst)
{
    /// <summary>The chat's pinned turns, ascending (as Chats.PinnedSeqs has them when the window was loaded).</summary>
    public IReadOnlyList<long> PinnedSeqs { get; init; } = [];

    /// <summary>
    /// The chat's memory note and latest summary as of the window's load (dropped with the window when
    /// either changes); null when the window does not know them (cached by a replica that predates them).
    /// </summary>
    public ChatMemory? Memory { get; init; }

    /// <summary>The oldest turn number the window covers (hidden or not); older turns exist when it is above 1.</summary>
    public long OldestSeq => NewestFirst.Count == 0 ? LastSeq + 1 : NewestFirst[^1].Seq;

    /// <summary>True when the window holds every turn of the chat.</summary>
    public bool ReachesStart => OldestSeq <= 1;

    /// <summary>The turns history shows, newest first.</summary>
    public IEnumerable<ChatTurn> Shown => NewestFirst.Where(t => !t.Hidden);

    /// <summary>The window's head: its newest <paramref name="maxTurns"/> shown turns, encoded.</summary>
    public WindowHead Head(int maxTurns)
    {
        var shown = Shown.Take(maxTurns + 1).ToList();
        var complete = ReachesStart && shown.Count <= maxTurns;
        return new WindowHead(UserId, LastSeq, Api.TurnWire.Frame(shown.Count > maxTurns ? shown[..maxTurns] : shown), complete);
    }
}

/// <summary>A user's rating of a candidate reply (1-4 stars), as the turn shows it.</summary>
public sealed record TurnRating(int Stars, IReadOnlyList<string> Tags, string? Comment, DateTimeOffset UpdateTime);
