using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
{
    // The turn, the candidate asked for (else the primary one) and its stored prompt, if any: one read.
    private const string PromptSelect =
        """
        SELECT c.CandidateId, p.CandidateId AS StoredId, p.Tokenizer, p.BudgetTokens, p.TotalTokens, p.Sections, p.Messages, p.StoreTime
        FROM Turns t
        JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = IFNULL(@candidateId, t.PrimaryCandidateId)
        LEFT JOIN CandidatePrompts p ON p.ChatId = c.ChatId AND p.Seq = c.Seq AND p.CandidateId = c.CandidateId
        WHERE t.ChatId = @chatId AND t.Seq = @seq
        """;

    // Not on the hot path (an operator asks): one snapshot, so ownership and the prompt are read as of one moment.
    public Task<StoredPrompt> GetReplyPromptAsync(string? ownerUserId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync(async (snapshot, ct) =>
        {
            if (ownerUserId is not null)
            {
                _ = await ReadOwnedChatAsync(snapshot, ownerUserId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            }

            var rows = await snapshot.QueryListAsync(
                new SpannerStatement(PromptSelect).Add("chatId", chatId).Add("seq", seq).Add("candidateId", SpannerType.String, candidateId), ct);
            if (rows.Count == 0)
            {
                throw candidateId is null
                    ? ChatException.TurnNotFound(chatId, seq)
                    : new ChatException(ChatErrorKind.NotFound, $"candidate {candidateId} of turn {seq} of chat {chatId} not found");
            }

            var row = rows[0];
            var id = row.Get<string>("CandidateId");
            if (row.IsNull("StoredId"))
            {
                throw new ChatException(ChatErrorKind.NotFound,
                    $"candidate {id} of turn {seq} of chat {chatId} has no stored prompt (not generated yet, cancelled before generation, or past retention)");
            }

            var messages = row.Get<byte[]?>("Messages");
            return new StoredPrompt(
                id,
                row.Get<string>("Tokenizer"),
                (int)row.Get<long>("BudgetTokens"),
                (int)row.Get<long>("TotalTokens"),
                PromptRecords.ReadSections(row.Get<string>("Sections")),
                messages is null ? null : PromptRecords.ReadMessages(messages),
                row.Get<DateTimeOffset>("StoreTime"));
        }, cancellationToken);
}
