using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatRepository
{
    // The candidate with its turn, how many model calls it has logged and the chat's newest seq: one read.
    private const string SettleSelect =
        $"""
        SELECT {TurnColumns}, c.CandidateId, c.OwedShard, c.LeaseOwner, t.PrimaryCandidateId,
               (SELECT IFNULL(MAX(m.Attempt), 0) FROM ModelCalls m
                 WHERE m.ChatId = c.ChatId AND m.Seq = c.Seq AND m.CandidateId = c.CandidateId) AS LastAttempt,
               (SELECT ch.NextSeq FROM Chats ch WHERE ch.ChatId = c.ChatId) AS LastSeq
        FROM Candidates c
        JOIN Turns t ON t.ChatId = c.ChatId AND t.Seq = c.Seq
        WHERE c.ChatId = @chatId AND c.Seq = @seq AND c.CandidateId = @candidateId
        """;

    public Task<SettledReply?> SettleReplyAsync(ReplyOutcome outcome, CancellationToken cancellationToken)
    {
        var key = outcome.Key;
        return WriteTurnsAsync<SettledReply?>(async (tx, ct) =>
        {
            var rows = await tx.QueryListAsync(
                new SpannerStatement(SettleSelect).Add("chatId", key.ChatId).Add("seq", key.Seq).Add("candidateId", key.CandidateId), ct);
            if (rows.Count == 0 || rows[0].IsNull("OwedShard") || rows[0].Get<string?>("LeaseOwner") != Options.ReplicaId)
            {
                // Deleted, already settled (e.g. cancelled), or claimed by another replica after our lease ran out.
                return null;
            }

            var row = rows[0];
            tx.BufferWrite(SettleMutation(key, outcome.State, outcome.Text, outcome.FailureCode, outcome.FailureReason));
            var attempt = row.Get<long>("LastAttempt");
            foreach (var call in outcome.Calls)
            {
                tx.BufferWrite(ModelCallMutation(key, ++attempt, call));
            }

            tx.BufferWrite(SpannerMutation.Update("Turns")
                .Set("ChatId", key.ChatId)
                .Set("Seq", key.Seq)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            if (row.Get<long>("LastSeq") == key.Seq && outcome.Text.Length > 0)
            {
                tx.BufferWrite(SpannerMutation.Update("Chats")
                    .Set("ChatId", key.ChatId)
                    .Set("LastMessagePreview", Text.Preview(outcome.Text)));
            }

            var settled = ReadTurn(key.ChatId, row) with
            {
                Text = outcome.Text,
                State = outcome.State,
                FailureReason = outcome.FailureReason,
            };
            return new SettledReply(settled, row.Get<string?>("PrimaryCandidateId") == key.CandidateId);
        }, (settled, committed) => settled is null ? null : settled with { Reply = Stamp(settled.Reply, committed) }, cancellationToken);
    }

    private static SpannerMutation ModelCallMutation(ReplyKey key, long attempt, ModelCallRecord call) =>
        SpannerMutation.Insert("ModelCalls")
            .Set("ChatId", key.ChatId)
            .Set("Seq", key.Seq)
            .Set("CandidateId", key.CandidateId)
            .Set("Attempt", attempt)
            .Set("Backend", call.Backend)
            .Set("Model", call.Model)
            .Set("Outcome", call.Outcome)
            .Set("Error", call.Error)
            .Set("QueuedTime", call.QueuedAt)
            .Set("StartedTime", call.StartedAt)
            .Set("FirstTokenTime", call.FirstTokenAt)
            .Set("FinishedTime", call.FinishedAt)
            .Set("PromptTokens", (long?)call.PromptTokens)
            .Set("CompletionTokens", (long?)call.CompletionTokens)
            .Set("LogTime", SpannerCommitTimestamp.Value);
}
