using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    /// <summary>
    /// The recording half of SendMessage, in one read-write transaction: checks ownership and the
    /// idempotency key, allocates sequence numbers, inserts the user turn and one owed reply turn
    /// per answering character (candidate pending, owed marker set, lease held by this replica),
    /// and bumps the chat. A repeated request id records nothing and returns what the first
    /// request recorded, in its current state.
    /// </summary>
    public Task<SendReceipt> RecordSendAsync(SendCommand command, CancellationToken cancellationToken)
    {
        return WriteTurnsAsync(async (tx, ct) =>
        {
            var chat = await ReadOwnedChatAsync(tx, command.UserId, command.ChatId, ct)
                ?? throw ChatException.ChatNotFound(command.ChatId);

            if (await FindByRequestIdAsync(tx, command.ChatId, command.RequestId, ct) is { } earlier)
            {
                return earlier;
            }

            foreach (var (id, index) in command.ReplyCharacterIds.Select((id, i) => (id, i)))
            {
                if (!chat.CharacterIds.Contains(id))
                {
                    throw new ChatException(ChatErrorKind.InvalidArgument,
                        $"reply_character_ids[{index}]: character {id} is not in this chat", $"reply_character_ids[{index}]");
                }
            }

            var (speakers, nextCursor) = ReplyPolicy.Pick(
                chat.CharacterIds, chat.RotationCursor, command.ReplyCharacterIds, Options.GroupRepliesPerTurn);

            var userSeq = chat.LastSeq + 1;
            tx.BufferWrite(InsertTurn(command.ChatId, userSeq, AuthorRole.User, null, command.Text,
                command.RequestId, replyToSeq: null, primaryCandidateId: null, candidateCount: 0));
            var userTurn = new ChatTurn(command.ChatId, userSeq, AuthorRole.User, null, command.Text,
                ReplyState.Complete, null, 0, default, null, null);

            var leaseUntil = timeProvider.GetUtcNow() + Options.ReplyLease;
            var replies = new List<ChatTurn>(speakers.Count);
            foreach (var characterId in speakers)
            {
                var seq = userSeq + 1 + replies.Count;
                var candidateId = Ids.New();
                tx.BufferWrite(InsertTurn(command.ChatId, seq, AuthorRole.Character, characterId, text: null,
                    requestId: null, replyToSeq: userSeq, primaryCandidateId: candidateId, candidateCount: 1));
                tx.BufferWrite(InsertOwedCandidate(command.ChatId, seq, candidateId, requestId: null, leaseUntil));
                replies.Add(new ChatTurn(command.ChatId, seq, AuthorRole.Character, characterId, "",
                    ReplyState.Pending, candidateId, 1, default, null, userSeq));
            }

            tx.BufferWrite(SpannerMutation.Update("Chats")
                .Set("ChatId", command.ChatId)
                .Set("NextSeq", userSeq + replies.Count)
                .Set("RotationCursor", nextCursor)
                .Set("LastMessagePreview", Text.Preview(command.Text))
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            return new SendReceipt(userTurn, replies, Duplicate: false);
        },
        (receipt, committed) => receipt.Duplicate
            ? receipt
            : new SendReceipt(
                Stamp(receipt.UserTurn, committed) with { CreateTime = committed },
                receipt.PendingReplies.Select(r => Stamp(r, committed) with { CreateTime = committed }).ToList(),
                Duplicate: false),
        cancellationToken);
    }

    /// <summary>An owed candidate: pending, marked in the sharded owed index, leased to this replica.</summary>
    private SpannerMutation InsertOwedCandidate(string chatId, long seq, string candidateId, string? requestId, DateTimeOffset leaseUntil) =>
        SpannerMutation.Insert("Candidates")
            .Set("ChatId", chatId)
            .Set("Seq", seq)
            .Set("CandidateId", candidateId)
            .Set("State", (long)ReplyState.Pending)
            .Set("RequestId", requestId)
            .Set("OwedShard", (long)Ids.Shard(chatId, Options.OwedReplyShards))
            .Set("LeaseOwner", Options.ReplicaId)
            .Set("LeaseUntil", leaseUntil)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("UpdateTime", SpannerCommitTimestamp.Value);

    /// <summary>The user turn recorded under this request id and the replies it owed, or null.</summary>
    private static async Task<SendReceipt?> FindByRequestIdAsync(SpannerTransaction tx, string chatId, string requestId, CancellationToken cancellationToken)
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
        return new SendReceipt(turns[0], turns.Skip(1).ToList(), Duplicate: true);
    }
}
