using ChatService.Chats;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>
    /// EditTurn in one transaction: the request id is checked (and recorded) in ChatOperations, the turn's
    /// text replaced through <see cref="TurnMutations.Edit"/> with the earlier text kept as a revision. A
    /// repeat writes nothing and returns the turn as it is now.
    /// </summary>
    public async Task<TurnEdit> EditTurnAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
        {
            _ = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var turn = await TurnEdits.ReadTurnAsync(tx, chatId, seq, ct);
            if (await TurnEdits.FindAsync(tx, chatId, requestId, TurnEdits.EditKind, seq, text, ct) is not null)
            {
                return new TurnEdit(turn, Duplicate: true);
            }

            var edited = await TurnEdits.EditAsync(tx, turns, turn, text, ct);
            TurnEdits.Record(tx, chatId, requestId, TurnEdits.EditKind, EditRecord.ForEdit(seq, text));
            return new TurnEdit(edited, Duplicate: false);
        }, cancellationToken);

        // A repeat is handed on too: the first request may have committed without reaching the cache.
        var edit = commit.Result.Duplicate ? commit.Result : commit.Result with { Turn = commit.Turns[0] };
        await commits.ShownAsync(commit, [edit.Turn]);
        return edit;
    }

    public Task<bool> EditTurnRecordedAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        spanner.ReadAsync(async (reader, ct) =>
        {
            var check = await TurnEdits.CheckAsync(reader, userId, chatId, seq, requestId, TurnEdits.EditKind, candidateRequestId: null, ct);
            if (!check.Recorded)
            {
                check.EnsureTurnShown();
            }

            return check.Recorded;
        }, cancellationToken);

    public Task<IReadOnlyList<TextRevision>> ListTurnRevisionsAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync((snapshot, ct) => TurnEdits.ReadRevisionsAsync(snapshot, userId, chatId, seq, ct), cancellationToken);
}
