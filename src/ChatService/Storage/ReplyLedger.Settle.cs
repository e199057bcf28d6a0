using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ReplyLedger
{
    // The candidate with its turn, how many model calls it has logged and the chat's newest seq: one read.
    private const string SettleSelect =
        $"""
        SELECT {TurnColumns}, c.CandidateId, c.OwedShard, c.LeaseOwner, t.PrimaryCandidateId,
               c.ContinuedFromState, c.ContinuedFromFailureCode, c.ContinuedFromFailureReason,
               (SELECT IFNULL(MAX(m.Attempt), 0) FROM ModelCalls m
                 WHERE m.ChatId = c.ChatId AND m.Seq = c.Seq AND m.CandidateId = c.CandidateId) AS LastAttempt,
               (SELECT MAX(s.Seq) FROM Turns s WHERE s.ChatId = c.ChatId AND s.HiddenTime IS NULL) AS LastShownSeq
        FROM Candidates c
        JOIN Turns t ON t.ChatId = c.ChatId AND t.Seq = c.Seq
        WHERE c.ChatId = @chatId AND c.Seq = @seq AND c.CandidateId = @candidateId
        """;

    /// <summary>
    /// Settles <paramref name="reply"/>, except that a continuation that failed without adding text (not
    /// withheld) goes back to the state it had before it, as <paramref name="row"/>'s ContinuedFrom… columns
    /// keep it: SettleReplyAsync and the recovery sweep's RECOVERY_EXHAUSTED both come here.
    /// </summary>
    private static void SettleOrRestore(TurnMutations turns, ChatTurn reply, ReplyKey key, SpannerRow row, ReplyState state, string text,
        ReplyFailureCode? code, string? reason, string? filterCategory, bool added)
    {
        if (key.Continuation > 0 && state == ReplyState.Failed && !ReplyFailureCodes.IsWithheld(state, code) && !added
            && !row.IsNull("ContinuedFromState"))
        {
            // Its stream ends failed: the Undone… columns keep how, so that a replay from storage ends so too.
            turns.Settle(reply, (ReplyState)row.Get<long>("ContinuedFromState"), text,
                FailureCodeColumn.FromColumn(row.Get<string?>("ContinuedFromFailureCode")), row.Get<string?>("ContinuedFromFailureReason"),
                undone: new ReplyFailure(code ?? ReplyFailureCode.Failed, reason));
        }
        else
        {
            turns.Settle(reply, state, text, code, reason, filterCategory);
        }
    }

    public async Task<SettledReply?> SettleReplyAsync(ReplyOutcome outcome, CancellationToken cancellationToken)
    {
        var key = outcome.Key;

        // Encoded before the transaction: compressing is not work to repeat on an abort, nor to do while holding locks.
        var sections = outcome.Prompt is { } prompt ? PromptRecords.Sections(prompt) : null;
        var storedPrompt = outcome.Prompt is not null && outcome.StorePromptMaxBytes is { } maxBytes
            ? PromptRecords.Messages(outcome.Prompt.Messages, maxBytes)
            : null;
        var commit = await commits.RunAsync<bool?>(key.ChatId, async (tx, turns, ct) =>
        {
            var rows = await tx.QueryListAsync(
                new SpannerStatement(SettleSelect).Add("chatId", key.ChatId).Add("seq", key.Seq).Add("candidateId", key.CandidateId), ct);
            if (rows.Count == 0 || rows[0].IsNull("OwedShard") || rows[0].Get<string?>("LeaseOwner") != Options.ReplicaId)
            {
                // Deleted, already settled (e.g. cancelled), or claimed by another replica after our lease ran out.
                return null;
            }

            var row = rows[0];
            var reply = ReadTurn(key.ChatId, row);
            if (reply.Continuations != key.Continuation)
            {
                // Another generation of the candidate than the one this outcome is of.
                return null;
            }

            // A continuation appends to the text the candidate had when it was continued, which the
            // row keeps until now: whichever attempt settles it (a recovered one too) appends once. A
            // continuation withheld by moderation (flagged, or unchecked under fail-closed) withholds the
            // whole reply, as the stream tells its clients: such a candidate keeps no text, so the old text
            // goes with it.
            var withheld = ReplyFailureCodes.IsWithheld(outcome.State, outcome.FailureCode);
            var text = withheld ? ""
                : key.Continuation > 0 ? reply.Text + outcome.Text
                : outcome.Text;
            // A continuation that failed without adding anything leaves the candidate as it was before it (a
            // complete reply stays complete: its text is intact); its stream still ends failed, saying why.
            // One that added text before failing is stored failed, as any reply cut short is.
            SettleOrRestore(turns, reply, key, row, outcome.State, text, outcome.FailureCode, outcome.FailureReason, outcome.FilterCategory, added: outcome.Text.Length > 0);

            var attempt = row.Get<long>("LastAttempt");
            foreach (var call in outcome.Calls)
            {
                tx.BufferWrite(ModelCallMutation(key, ++attempt, call).Set("PromptSections", sections));
            }

            // The prompt itself once per candidate, in this commit: the reply makes no other for it.
            if (outcome.Prompt is not null && outcome.StorePromptMaxBytes is not null)
            {
                tx.BufferWrite(PromptRecords.Row(key, outcome.Prompt, sections!, storedPrompt));
            }

            // The preview shows the chat's newest shown turn as history shows it (its primary candidate).
            // A withheld continuation clears it: the reply's earlier text, shown there since its last settle,
            // must not stay on show (a withheld fresh reply leaves the user's message there, as before).
            if (row.Get<long?>("LastShownSeq") == key.Seq && (text.Length > 0 || (withheld && key.Continuation > 0)) && !reply.Hidden
                && row.Get<string?>("PrimaryCandidateId") == key.CandidateId)
            {
                tx.BufferWrite(SpannerMutation.Update("Chats")
                    .Set("ChatId", key.ChatId)
                    .Set("LastMessagePreview", Text.Preview(text)));
            }

            return row.Get<string?>("PrimaryCandidateId") == key.CandidateId;
        }, cancellationToken);

        if (commit.Result is not { } primary)
        {
            // Not ours to settle: someone else did, or an earlier attempt of ours committed without
            // our hearing of it. Either way the cached window may lag; this commit wrote nothing.
            await commits.ReleaseAsync(commit);
            await commits.UnknownAsync(key.ChatId);
            return null;
        }

        var settled = new SettledReply(commit.Turns[0], primary);
        await ShowAsync(commit, settled);
        return settled;
    }

    public async Task<SettledReply?> CancelOwedReplyAsync(string userId, ReplyKey key, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync<SettledReply?>(key.ChatId, async (tx, turns, ct) =>
        {
            if (await ReadOwnedChatAsync(tx, userId, key.ChatId, ct) is null
                || await ReadCandidateAsync(tx, key.ChatId, key.Seq, key.CandidateId, ct) is not { } stored)
            {
                return null;
            }

            if (!stored.Owed)
            {
                return stored.AsReply();
            }

            if (stored.LeaseOwner != Options.ReplicaId && stored.LeaseUntil > timeProvider.GetUtcNow())
            {
                // Another live replica is generating it: ask it to stop and store what it has.
                tx.BufferWrite(CandidateMutations.RequestCancel(key));
                return stored.AsReply() with { GeneratingReplica = stored.LeaseOwner };
            }

            // The text it has stays: none for a new reply, the text so far for a continuation.
            turns.Settle(stored.Turn, ReplyState.Cancelled, stored.Turn.Text, ReplyFailureCode.Cancelled, "cancelled before generation started");
            return stored.AsReply();
        }, cancellationToken);

        if (commit.Result is not { } found)
        {
            await commits.ReleaseAsync(commit);
            return null;
        }

        // Settled here: the reply as of the commit; otherwise as read (its version unchanged).
        var reply = commit.Turns.Count > 0 ? found with { Reply = commit.Turns[0], SettledNow = true } : found;
        await ShowAsync(commit, reply);
        return reply;
    }

    /// <summary>A settled candidate changes what history shows only if it is its turn's primary one.</summary>
    private Task ShowAsync<T>(TurnCommit<T> commit, SettledReply settled) =>
        settled.IsPrimary ? commits.ShownAsync(commit, [settled.Reply]) : commits.ReleaseAsync(commit);

    private static SpannerMutation ModelCallMutation(ReplyKey key, long attempt, ModelCallRecord call) =>
        ModelCallColumns.Set(
            SpannerMutation.Insert("ModelCalls")
                .Set("ChatId", key.ChatId)
                .Set("Seq", key.Seq)
                .Set("CandidateId", key.CandidateId)
                .Set("Attempt", attempt),
            call);
}
