namespace ChatService.Chats;

/// <summary>
/// A chat's newest turns from the history cache, loaded from storage on a miss: what the first
/// history page and a reply's prompt are read from, so a warm chat costs storage no reads.
/// </summary>
public interface IChatWindows
{
    /// <summary>How many newest turns a window holds; 0 without a cache, and then readers go to the stores.</summary>
    int MaxTurns { get; }

    /// <summary>The chat's newest turns (at most <see cref="MaxTurns"/>), its owner and cast; null when there is no such chat.</summary>
    Task<ChatWindow?> GetAsync(string chatId, int maxTurns, CancellationToken cancellationToken);

    /// <summary>
    /// The chat's newest turns (at least <paramref name="maxTurns"/> of them when the chat has that
    /// many, at most <see cref="MaxTurns"/>) in their encoded form, for a first history page; null
    /// when there is no such chat.
    /// </summary>
    ValueTask<WindowHead?> GetHeadAsync(string chatId, int maxTurns, CancellationToken cancellationToken);
}
