namespace ChatService.Chats;

/// <summary>
/// One committed change to a chat, as stores hand it to the <see cref="IChatChangeSink"/>, with the
/// announcement it ends (<see cref="IChatChangeSink.IntendAsync"/>), if any.
/// </summary>
public sealed record ChatChange(string ChatId, ChatChangeKind Kind, IReadOnlyList<ChatTurn> Turns, string? Intent = null)
{
    /// <summary>The summary version a <see cref="ChatChangeKind.Summary"/> change stored; null for other kinds.</summary>
    public ChatSummary? Summary { get; init; }

    /// <summary>A new version of the chat's rolling summary, the next after every version the chat ever had.</summary>
    public static ChatChange SummaryStored(string chatId, ChatSummary summary, string? intent) =>
        new(chatId, ChatChangeKind.Summary, [], intent) { Summary = summary };

    /// <summary>These turns, as history shows them after the commit (repeats of earlier changes are harmless: versions only move forward).</summary>
    public static ChatChange Shown(string chatId, IReadOnlyList<ChatTurn> turns, string? intent) => new(chatId, ChatChangeKind.Turns, turns, intent);

    /// <summary>The chat's own fields that windows keep (its pins) changed; no turn did.</summary>
    public static ChatChange ChatFields(string chatId, string? intent) => new(chatId, ChatChangeKind.Chat, [], intent);

    public static ChatChange Deleted(string chatId) => new(chatId, ChatChangeKind.Deleted, []);

    public static ChatChange Unknown(string chatId) => new(chatId, ChatChangeKind.Unknown, []);
}
