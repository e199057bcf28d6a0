using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Forks that ForkChat left half-copied (interrupted): chats owned by nobody (an empty UserId) whose
/// ForkedFromChatId names their source. Their progress record lives on the source chat (ChatOperations), so a
/// retry can finish one only while its source exists: whatever deletes a source deletes its ownerless forks in
/// the same commit (DeleteChat, DeleteMyData), and the deletion sweep deletes any left once their record is past
/// its retention (DataDeletionSweeper.SweepAbandonedChatsOnceAsync), whether or not their source is still there.
/// </summary>
internal static class OwnerlessForks
{
    /// <summary>Ownerless forks of <paramref name="chatIds"/>, from ChatsByForkedFrom (a few entries per chat at most, only chats that were forked).</summary>
    public static async Task<List<string>> OfAsync(ISpannerReader reader, IReadOnlyList<string> chatIds, CancellationToken ct) =>
        (await reader.QueryListAsync(
            new SpannerStatement("SELECT ChatId FROM Chats@{FORCE_INDEX=ChatsByForkedFrom, spanner_emulator.disable_query_null_filtered_index_check=true} WHERE ForkedFromChatId IN UNNEST(@ids) AND UserId = ''")
                .Add("ids", chatIds.ToList()),
            ct))
        .Select(r => r.Get<string>("ChatId"))
        .ToList();

    /// <summary>
    /// The deletions of the ownerless forks of <paramref name="chatIds"/> as <paramref name="reader"/> (the commit's
    /// transaction) reads them, leaving out <paramref name="listed"/>: a fork started after its source was read goes
    /// with the source, not orphaned. The read locks the index range, so a fork written concurrently aborts and
    /// reruns the commit.
    /// </summary>
    public static async Task<IReadOnlyList<SpannerMutation>> DeletionsAsync(
        ISpannerReader reader, IReadOnlyList<string> chatIds, IReadOnlyCollection<string> listed, CancellationToken ct)
    {
        var forks = (await OfAsync(reader, chatIds, ct)).Where(id => !listed.Contains(id)).ToList();
        return forks.Count == 0 ? [] : [SpannerMutation.Delete("Chats", [.. forks.Select(id => SpannerKey.Of(id))])];
    }
}
