using System.Globalization;
using System.Text;
using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>At most this many turns are hidden by one transaction (a rewind of more takes several, newest first).</summary>
    internal const int HideBatch = 1000;

    private const string RewindKind = "rewind";

    /// <summary>
    /// Hides every shown turn after <paramref name="toSeq"/> that existed when the rewind was first asked
    /// for, newest first, in transactions of at most <see cref="HideBatch"/> turns: a rewind interrupted
    /// between them is a shorter rewind, and repeating the request (same request id) finishes it without
    /// hiding anything recorded since. Returns the turns hidden and the replies still owed among them.
    /// </summary>
    public async Task<HiddenTurns> RewindAsync(string userId, string chatId, long toSeq, string requestId, CancellationToken cancellationToken)
    {
        var hidden = new List<long>();
        var owed = new List<ReplyKey>();
        while (true)
        {
            var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
            {
                var chat = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
                var (to, upto, finished) = await RewindRangeAsync(tx, chat, toSeq, requestId, ct);
                if (finished)
                {
                    // A repeat of a rewind that finished: turns restored since stay restored.
                    return (Seqs: new List<long>(), Owed: (IReadOnlyList<ReplyKey>)[], More: false, PinsChanged: false);
                }

                var rows = await tx.QueryListAsync(
                    new SpannerStatement(
                        "SELECT Seq FROM Turns WHERE ChatId = @chatId AND Seq > @to AND Seq <= @upto AND HiddenTime IS NULL ORDER BY Seq DESC LIMIT @limit")
                        .Add("chatId", chatId).Add("to", to).Add("upto", upto).Add("limit", (long)HideBatch),
                    ct);
                var seqs = rows.Select(r => r.Get<long>("Seq")).ToList();
                var batchOwed = await HideAsync(tx, turns, chatId, seqs, HiddenReason.Rewound, ct);
                var pinsChanged = await KeepPreviewAndPinsAsync(tx, chatId, seqs, ct);
                var more = seqs.Count == HideBatch;
                if (!more)
                {
                    // Written whole: the first batch may have inserted the record in this same commit.
                    ChatOperations.Upsert(tx, chatId, requestId, RewindKind, RewindRecord(to, upto, finished: true));
                }

                return (Seqs: seqs, Owed: batchOwed, More: more, PinsChanged: pinsChanged);
            }, cancellationToken);

            var (batch, _, _) = commit;
            await (batch.PinsChanged ? commits.ChatChangedAsync(commit) : commits.ShownAsync(commit, commit.Turns));
            hidden.AddRange(batch.Seqs);
            owed.AddRange(batch.Owed);
            if (!batch.More)
            {
                hidden.Sort();
                return new HiddenTurns(hidden, owed);
            }
        }
    }

    /// <summary>Hides the given shown turns; turns already hidden are left as they are.</summary>
    public async Task<HiddenTurns> DeleteTurnsAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
        {
            var chat = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var found = await ReadHiddenStatesAsync(tx, chat, seqs, ct);
            var shown = seqs.Where(seq => found[seq] is null).OrderBy(seq => seq).ToList();
            var owed = await HideAsync(tx, turns, chatId, shown, HiddenReason.Deleted, ct);
            var pinsChanged = await KeepPreviewAndPinsAsync(tx, chatId, shown, ct);
            return (Hidden: new HiddenTurns(shown, owed), PinsChanged: pinsChanged);
        }, cancellationToken);

        await (commit.Result.PinsChanged ? commits.ChatChangedAsync(commit) : FinishAsync(commit, commit.Result.Hidden.Seqs.Count));
        return commit.Result.Hidden;
    }

    /// <summary>
    /// Shows hidden turns again, if they were hidden less than <see cref="HiddenRetention"/> ago; returns the
    /// turns restored (shown ones are left out).
    /// </summary>
    public async Task<IReadOnlyList<long>> RestoreTurnsAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, turns, ct) =>
        {
            var chat = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
            var found = await ReadHiddenStatesAsync(tx, chat, seqs, ct);
            var oldest = timeProvider.GetUtcNow() - HiddenRetention;
            var expired = seqs.Where(seq => found[seq] is { } at && at < oldest).ToList();
            if (expired.Count > 0)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition,
                    $"turn {expired[0]} was hidden more than {HiddenRetention.TotalDays:0} days ago and can no longer be restored");
            }

            var restore = seqs.Where(seq => found[seq] is not null).OrderBy(seq => seq).ToList();
            if (restore.Count == 0)
            {
                return (Restored: restore, WindowChanged: false);
            }

            var rows = await tx.QueryListAsync(
                new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq IN UNNEST(@seqs)").Add("chatId", chatId).Add("seqs", restore),
                ct);
            foreach (var turn in rows.Select(r => ReadTurn(chatId, r)))
            {
                turns.Restore(turn);
            }

            var windowChanged = await KeepPreviewAndPinsAsync(tx, chatId, hidden: [], ct, restored: restore);
            return (Restored: restore, WindowChanged: windowChanged);
        }, cancellationToken);

        await (commit.Result.WindowChanged ? commits.ChatChangedAsync(commit) : FinishAsync(commit, commit.Result.Restored.Count));
        return commit.Result.Restored;
    }

    /// <summary>How long a hidden turn can be restored: Spanner's row deletion policy purges it then (schema version 3).</summary>
    public static readonly TimeSpan HiddenRetention = TimeSpan.FromDays(30);

    private Task FinishAsync<T>(TurnCommit<T> commit, int changed) =>
        changed > 0 ? commits.ShownAsync(commit, commit.Turns) : commits.ReleaseAsync(commit);

    /// <summary>
    /// The rewind's range: after the turn rewound to, up to the newest turn when it was first asked for.
    /// The first request checks the turn and records both under its request id; a repeat reads them back.
    /// </summary>
    private static byte[] RewindRecord(long to, long upto, bool finished) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{to}:{upto}:{(finished ? 1 : 0)}"));

    private static async Task<(long To, long Upto, bool Finished)> RewindRangeAsync(SpannerTransaction tx, Chat chat, long toSeq, string requestId, CancellationToken ct)
    {
        if (await ChatOperations.ReadAsync(tx, chat.Id, requestId, RewindKind, ct) is { } recorded)
        {
            var parts = Encoding.UTF8.GetString(recorded.Result).Split(':');
            var (to, upto) = (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
            if (to != toSeq)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"request_id {requestId} was used for a rewind to turn {to}, not {toSeq}", "request_id");
            }

            return (to, upto, parts.Length > 2 && parts[2] == "1");
        }

        var states = await ReadHiddenStatesAsync(tx, chat, [toSeq], ct);
        if (states[toSeq] is not null)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"turn {toSeq} is not shown (rewound or deleted); rewind to a shown turn");
        }

        ChatOperations.Insert(tx, chat.Id, requestId, RewindKind, RewindRecord(toSeq, chat.LastSeq, finished: false));
        return (toSeq, chat.LastSeq, false);
    }

    /// <summary>When each of the turns was hidden (null: shown); a turn the chat does not have is NOT_FOUND.</summary>
    private static async Task<Dictionary<long, DateTimeOffset?>> ReadHiddenStatesAsync(SpannerTransaction tx, Chat chat, IReadOnlyList<long> seqs, CancellationToken ct)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT Seq, HiddenTime FROM Turns WHERE ChatId = @chatId AND Seq IN UNNEST(@seqs)")
                .Add("chatId", chat.Id).Add("seqs", seqs.ToList()),
            ct);
        var states = rows.ToDictionary(r => r.Get<long>("Seq"), r => r.Get<DateTimeOffset?>("HiddenTime"));
        foreach (var seq in seqs)
        {
            if (!states.ContainsKey(seq))
            {
                throw ChatException.TurnNotFound(chat.Id, seq);
            }
        }

        return states;
    }

    /// <summary>
    /// Hides the turns (as of the commit) and asks the replies still owed among them to stop, in the same
    /// commit: the replica generating one finds the request at its next lease renewal, and recovery settles
    /// an abandoned one as cancelled, so the cancel holds even if this process dies right after. Returns
    /// them, so the caller can also signal them at once.
    /// </summary>
    private static async Task<IReadOnlyList<ReplyKey>> HideAsync(
        SpannerTransaction tx, TurnMutations turns, string chatId, IReadOnlyList<long> seqs, HiddenReason reason, CancellationToken ct)
    {
        if (seqs.Count == 0)
        {
            return [];
        }

        foreach (var seq in seqs)
        {
            turns.Hide(chatId, seq, (long)reason);
        }

        var owed = await tx.QueryListAsync(
            new SpannerStatement("SELECT Seq, CandidateId, Continuations FROM Candidates WHERE ChatId = @chatId AND Seq IN UNNEST(@seqs) AND OwedShard IS NOT NULL")
                .Add("chatId", chatId).Add("seqs", seqs.ToList()),
            ct);
        // An owed continuation is that generation of its candidate (its own stream and log).
        var keys = owed.Select(r => new ReplyKey(chatId, r.Get<long>("Seq"), r.Get<string>("CandidateId"), (int)(r.Get<long?>("Continuations") ?? 0))).ToList();
        foreach (var key in keys)
        {
            tx.BufferWrite(CandidateMutations.RequestCancel(key));
        }

        return keys;
    }

    /// <summary>
    /// After turns were hidden or restored: the chat's preview shows its newest shown turn, hidden
    /// turns are no longer pinned, and summaries whose span reaches the changed turns are discarded
    /// (<see cref="ChatMemoryStore.DiscardSummariesCoveringAsync"/>). Returns whether the pins or the
    /// summary changed (cached windows keep them: the caller drops the window then).
    /// </summary>
    private static async Task<bool> KeepPreviewAndPinsAsync(
        SpannerTransaction tx, string chatId, IReadOnlyList<long> hidden, CancellationToken ct, IReadOnlyList<long>? restored = null)
    {
        if (hidden.Count == 0 && (restored is null || restored.Count == 0))
        {
            return false;
        }

        var newest = await tx.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND (t.HiddenTime IS NULL OR t.Seq IN UNNEST(@restored)) AND t.Seq NOT IN UNNEST(@hidden) ORDER BY t.Seq DESC LIMIT 1")
                .Add("chatId", chatId).Add("hidden", hidden.ToList()).Add("restored", (restored ?? []).ToList()),
            ct);
        var pins = await tx.QueryListAsync(new SpannerStatement("SELECT PinnedSeqs FROM Chats WHERE ChatId = @chatId").Add("chatId", chatId), ct);
        var pinned = pins.Count == 0 ? null : pins[0].Get<List<long>?>("PinnedSeqs");
        var update = SpannerMutation.Update("Chats")
            .Set("ChatId", chatId)
            .Set("LastMessagePreview", newest.Count == 0 ? "" : Text.Preview(ReadTurn(chatId, newest[0]).Text));
        var pinsChanged = pinned is not null && pinned.Any(hidden.Contains);
        if (pinsChanged)
        {
            update.Set("PinnedSeqs", pinned!.Where(seq => !hidden.Contains(seq)).ToList());
        }

        tx.BufferWrite(update);
        var summaryDiscarded = await ChatMemoryStore.DiscardSummariesCoveringAsync(tx, chatId, [.. hidden, .. restored ?? []], ct);
        return pinsChanged || summaryDiscarded;
    }
}

/// <summary>Why a turn is hidden. Stored as its number.</summary>
public enum HiddenReason
{
    Rewound = 1,
    Deleted = 2,
}
