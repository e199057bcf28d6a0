using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>
    /// The recording half of SendMessage, in one read-write transaction: checks ownership and the
    /// idempotency key, allocates sequence numbers, inserts the user turn and one owed reply turn
    /// per speaker (candidate pending, owed marker set, lease held by this replica), and bumps the
    /// chat. A repeated request id records nothing and returns what the first request recorded, in
    /// its current state.
    /// </summary>
    public async Task<SendReceipt> RecordSendAsync(UserMessage message, SpeakerChoice speakers, CancellationToken cancellationToken)
    {
        var chatId = message.ChatId;
        var commit = await commits.RunAsync<SendReceipt?>(chatId, async (tx, turns, ct) =>
        {
            var chat = await ReadSpeakingChatAsync(tx, message.UserId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            if (await FindByRequestIdAsync(tx, chatId, message.RequestId, ct) is { } found)
            {
                return found;
            }

            var plan = speakers(chat);
            var userSeq = chat.LastSeq + 1;
            turns.InsertUserTurn(
                new ChatTurn(chatId, userSeq, AuthorRole.User, null, message.Text, ReplyState.Complete, null, 0, default, null, null),
                message.RequestId);
            var lease = OwedLease.ForThisReplica(chatId, Options, timeProvider.GetUtcNow());
            foreach (var (characterId, i) in plan.Speakers.Select((id, i) => (id, i)))
            {
                var seq = userSeq + 1 + i;
                turns.InsertOwedReply(
                    new ChatTurn(chatId, seq, AuthorRole.Character, characterId, "", ReplyState.Pending, Ids.New(), 1, default, null, userSeq),
                    candidateRequestId: null, lease);
            }

            tx.BufferWrite(SpannerMutation.Update("Chats")
                .Set("ChatId", chatId)
                .Set("NextSeq", userSeq + plan.Speakers.Count)
                .Set("RotationCursor", plan.NextCursor)
                .Set("LastMessagePreview", Text.Preview(message.Text))
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            return null;
        }, cancellationToken);

        // A repeat is handed on too: the first request may have committed without reaching the cache.
        var (earlier, written, _) = commit;
        var receipt = earlier ?? new SendReceipt(written[0], written.Skip(1).ToList(), Duplicate: false);
        await commits.ShownAsync(commit, [receipt.UserTurn, .. receipt.PendingReplies]);
        return receipt;
    }

    /// <summary>What a SendMessage with this request id recorded, in its current state; null when nothing (or the chat is not the user's).</summary>
    public Task<SendReceipt?> FindSendAsync(string userId, string chatId, string requestId, CancellationToken cancellationToken) =>
        spanner.ReadAsync(async (reader, ct) => await ReadSpeakingChatAsync(reader, userId, chatId, ct) is null
            ? null
            : await FindByRequestIdAsync(reader, chatId, requestId, ct), cancellationToken);

    /// <summary>The user turn recorded under this request id and the replies it owed, or null.</summary>
    private static async Task<SendReceipt?> FindByRequestIdAsync(ISpannerReader tx, string chatId, string requestId, CancellationToken cancellationToken)
    {
        // The equality on a non-null key can't need the rows the null-filtered index leaves out; the
        // emulator can't prove that by itself, hence its hint (which Cloud Spanner ignores).
        var found = await tx.QueryListAsync(
            new SpannerStatement(
                "SELECT Seq FROM Turns@{FORCE_INDEX=TurnsByRequestId, spanner_emulator.disable_query_null_filtered_index_check=true} " +
                "WHERE ChatId = @chatId AND RequestId = @requestId")
                .Add("chatId", chatId)
                .Add("requestId", requestId),
            cancellationToken);
        if (found.Count == 0)
        {
            return null;
        }

        var userSeq = found[0].Get<long>(0);
        var rows = await tx.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND (t.Seq = @seq OR (t.Seq > @seq AND t.ReplyToSeq = @seq)) ORDER BY t.Seq")
                .Add("chatId", chatId)
                .Add("seq", userSeq),
            cancellationToken);
        var turns = rows.Select(r => ReadTurn(chatId, r)).ToList();
        // A repeat follows each reply's first generation, not a ContinueReply of it since (that has events of its own).
        return new SendReceipt(turns[0], turns.Skip(1).Select(t => t with { Continuations = 0 }).ToList(), Duplicate: true);
    }
}
