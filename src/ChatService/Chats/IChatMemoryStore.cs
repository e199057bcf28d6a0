namespace ChatService.Chats;

/// <summary>A chat's memory note and summaries in storage.</summary>
public interface IChatMemoryStore
{
    /// <summary>The user's chat's memory; NOT_FOUND when the chat is not the user's.</summary>
    Task<ChatMemory> GetAsync(string userId, string chatId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the note and its depth (null: the configured default) of the user's chat, and drops the
    /// chat's cached window so the next reply reads them; NOT_FOUND when the chat is not the user's.
    /// </summary>
    Task<ChatMemory> UpdateAsync(string userId, string chatId, string? note, int? depth, CancellationToken cancellationToken);

    /// <summary>The chat's memory for a prompt, whoever owns it; null when there is no such chat.</summary>
    Task<ChatMemory?> ReadAsync(string chatId, CancellationToken cancellationToken);
}
