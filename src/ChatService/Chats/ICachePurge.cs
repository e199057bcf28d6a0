namespace ChatService.Chats;

/// <summary>
/// What a deletion of a user's data removes from the cache, and the removal. The key names belong to the
/// cache (Cache/), which is the only place that knows them; without a cache there are none.
/// </summary>
public interface ICachePurge
{
    /// <summary>
    /// Every key a chat may have: its window (with its fill token and change announcements, in every format a
    /// replica of this or an earlier release writes), its attached-lorebook token and the event logs of the
    /// given replies (those that can still have one: settled within the log's retention, or still owed), each
    /// generation's (the reply's and those of its <c>Continuations</c> ContinueReply calls), and the chat's
    /// summary lease with its entries in the set of held leases.
    /// </summary>
    IReadOnlyList<string> ChatKeys(string chatId, IEnumerable<(long Seq, string CandidateId, int Continuations)> replies);

    /// <summary>The keys of a character (its definition token).</summary>
    IReadOnlyList<string> CharacterKeys(string characterId);

    /// <summary>The keys of a lorebook (its definition token).</summary>
    IReadOnlyList<string> LorebookKeys(string lorebookId);

    /// <summary>The keys of a user (the personas' definition token).</summary>
    IReadOnlyList<string> UserKeys(string userId);

    /// <summary>
    /// Deletes the keys (replicas holding a deleted chat's head in their near cache drop it). Throws when the
    /// cache could not be reached: the deletion keeps the keys and tries again.
    /// </summary>
    Task PurgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}
