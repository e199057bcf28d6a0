namespace ChatService.Chats;

/// <summary>
/// Durable storage of chats, their history and the user's sends. Methods that take a user id
/// return null/false for another user's chat, exactly as for a missing one. Every write hands what
/// it committed to the <see cref="IChatChangeSink"/> before it returns.
/// </summary>
public interface IChatStore
{
    /// <summary>A new chat and its greeting turns (those of <paramref name="opening"/> that are not null, in cast order), in one commit.</summary>
    Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateChatAsync(
        string userId, string title, IReadOnlyList<Character> characters, ChatOpening opening, CancellationToken cancellationToken);

    Task<Chat?> GetChatAsync(string userId, string chatId, CancellationToken cancellationToken);

    /// <summary>Replaces the speaker settings <paramref name="update"/> names (NOT_FOUND for a chat that is not the user's); returns the chat.</summary>
    Task<Chat> UpdateSpeakersAsync(string userId, ChatSettingsUpdate update, CancellationToken cancellationToken);

    /// <summary>The user's chats, most recently active first, after the given cursor.</summary>
    Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteChatAsync(string userId, string chatId, CancellationToken cancellationToken);

    /// <summary>The user's chats in one archive state (or all), most recently active first, after the given cursor.</summary>
    Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, ChatArchiveFilter filter, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Examines the user's next <paramref name="examine"/> chats (most recently active first, after the cursor)
    /// for <paramref name="query"/> (space-separated normalized words, every one of which must be found) in
    /// their titles and shown messages.
    /// </summary>
    Task<ChatSearchRound> SearchChatsAsync(
        string userId, string query, (DateTimeOffset LastActiveTime, string ChatId)? after, int examine, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> turns with seq below <paramref name="beforeSeq"/>, newest first.</summary>
    Task<IReadOnlyList<ChatTurn>?> GetTurnsAsync(string userId, string chatId, long beforeSeq, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Records a user turn and its owed replies in one transaction; idempotent on the request id.
    /// <paramref name="speakers"/> decides who answers from the chat as that transaction reads it.
    /// </summary>
    Task<SendReceipt> RecordSendAsync(UserMessage message, SpeakerChoice speakers, CancellationToken cancellationToken);

    /// <summary>What a SendMessage with <paramref name="requestId"/> recorded (a duplicate receipt), or null; read-only.</summary>
    Task<SendReceipt?> FindSendAsync(string userId, string chatId, string requestId, CancellationToken cancellationToken);

    /// <summary>Hides every turn after <paramref name="toSeq"/>; idempotent on the request id.</summary>
    Task<HiddenTurns> RewindAsync(string userId, string chatId, long toSeq, string requestId, CancellationToken cancellationToken);

    /// <summary>Hides single turns.</summary>
    Task<HiddenTurns> DeleteTurnsAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken);

    /// <summary>A new chat of the user with the source's cast and shown turns up to <paramref name="atSeq"/>; idempotent on the request id.</summary>
    Task<Chat> ForkAsync(string userId, string chatId, long atSeq, string requestId, string? title, CancellationToken cancellationToken);

    /// <summary>Shows hidden turns again; returns those restored.</summary>
    Task<IReadOnlyList<long>> RestoreTurnsAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken);

    /// <summary>The user's rating of a candidate of a character turn (the primary one when null), replacing an earlier one; returns it as stored.</summary>
    Task<TurnRating> RateCandidateAsync(string userId, string chatId, long seq, string? candidateId, TurnRating rating, CancellationToken cancellationToken);

    /// <summary>Pins a shown turn (idempotent); returns the chat.</summary>
    Task<Chat> PinTurnAsync(string userId, string chatId, long seq, CancellationToken cancellationToken);

    /// <summary>Unpins a turn (idempotent); returns the chat.</summary>
    Task<Chat> UnpinTurnAsync(string userId, string chatId, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the text a shown turn shows (a user turn's, or its primary candidate's) and keeps the
    /// earlier text as a revision; idempotent on the request id (a repeat returns the turn as it is now).
    /// </summary>
    Task<TurnEdit> EditTurnAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the caller's EditTurn with <paramref name="requestId"/> was applied already (its record stands):
    /// a retry is answered from it, so it needs no classifier call and no token of the user's send bucket. One read,
    /// which refuses what the edit would refuse before the classifier is asked: another user's chat, and (unless
    /// recorded) a missing or hidden turn.
    /// </summary>
    Task<bool> EditTurnRecordedAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken);

    /// <summary>The earlier texts of a shown turn, oldest first.</summary>
    Task<IReadOnlyList<TextRevision>> ListTurnRevisionsAsync(string userId, string chatId, long seq, CancellationToken cancellationToken);
}

/// <summary>A turn as an edit left it (or, for a repeated request id, as it is now: <see cref="Duplicate"/>).</summary>
public sealed record TurnEdit(ChatTurn Turn, bool Duplicate);

/// <summary>
/// A text a turn showed before an edit: revision 1 is the text before the first edit. For character
/// turns, the candidate it belonged to.
/// </summary>
public sealed record TextRevision(long Revision, string? CandidateId, string Text, DateTimeOffset EditTime);

/// <summary>What an EditAndRegenerate recorded (or found recorded): the edited user turn and the new candidate owed for its reply.</summary>
public sealed record EditedReplies(ChatTurn UserTurn, OwedReplies Owed);

/// <summary>Turns a rewind or a delete hid, ascending, and the replies still owed among them (to cancel).</summary>
public sealed record HiddenTurns(IReadOnlyList<long> Seqs, IReadOnlyList<ReplyKey> OwedReplies);

/// <summary>
/// How a new chat opens: the persona it is pinned to (null: none), and each character's greeting
/// text as recorded, in cast order (null: that character opens with no turn).
/// </summary>
public sealed record ChatOpening(string? PersonaId, IReadOnlyList<string?> Greetings)
{
    /// <summary>The new chat's speaker settings (checked against its cast).</summary>
    public SpeakerSettings Speakers { get; init; } = SpeakerSettings.Default;

    /// <summary>Each character's own greeting, unpinned, as the texts are stored (no placeholder replaced).</summary>
    public static ChatOpening OwnGreetings(IReadOnlyList<Character> characters) => new(null, characters.Select(c => c.Greeting).ToList());
}
