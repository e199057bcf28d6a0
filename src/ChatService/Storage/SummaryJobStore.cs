using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>What a look at a chat's summary job found.</summary>
internal enum SummaryClaimStatus
{
    /// <summary>The job is due: the runner may call the model and store.</summary>
    Claimed,

    /// <summary>The chat's summary already covers the span (another job stored it), or the chat is gone.</summary>
    Covered,

    /// <summary>Covered, and a failed job's row is left over: <see cref="SummaryJobStore.ForgetAsync"/> deletes it (else every sweep would find it).</summary>
    CoveredWithRow,

    /// <summary>The job failed lately and waits for its retry delay.</summary>
    Waiting,

    /// <summary>The span was tried as often as allowed.</summary>
    GaveUp,
}

/// <summary>
/// A due summary job: the span after the base version's through-seq up to <see cref="ThroughSeq"/>, the
/// base version (0: none) it folds in, and which attempt at the span this is; the commit stores a new
/// version only while that base is still the chat's latest and the span's shown turns are still those read.
/// </summary>
internal sealed record SummaryClaim(string ChatId, long ThroughSeq, long BaseVersion, long BaseThroughSeq, string BaseText, int Attempt);

/// <summary>The turns a summary job folds in, with the cast's names and the route of the chat's first character.</summary>
/// <param name="Cut">True when the span's text was over the job's input bound and <see cref="Turns"/> stops early.</param>
/// <param name="ShownSeqs">Every shown turn of the span as read (blank ones too): the commit checks they still are.</param>
internal sealed record SummarySpan(IReadOnlyList<ChatTurn> Turns, IReadOnlyDictionary<string, string> Names, string FirstCharacterRoute, bool Cut, IReadOnlyList<long> ShownSeqs);

/// <summary>
/// The summary job's rows: the summaries (ChatSummaries), the jobs that failed and wait for a retry
/// (SummaryJobs) and the job's model-call log (SummaryCalls). Who calls the model is decided in Redis
/// (<see cref="Memory.SummaryLeases"/>); what is stored is decided here, by one read-write transaction
/// per summary on the chat's own rows that inserts the next version only while the version it folds is
/// still the chat's latest and the turns it read still show: two runners racing on the same span
/// serialize there and only one stores a version.
/// </summary>
internal sealed class SummaryJobStore(SpannerGateway spanner, TurnCommits commits, TimeProvider timeProvider)
{
    private const string LatestLive =
        "FROM ChatSummaries s WHERE s.ChatId = ch.ChatId AND s.DiscardTime IS NULL ORDER BY s.Version DESC LIMIT 1";

    /// <summary>
    /// In one snapshot: whether the chat's job for the span through <paramref name="throughSeq"/> (or the
    /// longer span a failed job's row names) is due, and if so its span's shown turns, oldest first (rewound
    /// and deleted turns are never summarized), stopping before <paramref name="maxChars"/> of text (at least
    /// one turn), with the cast's names. Not due when the summary covers it already or it is fewer than
    /// <paramref name="everyTurns"/> turns past the summary, a failed attempt's retry delay is not over, or the
    /// span was tried <paramref name="maxAttempts"/> times and its last retry fell due less than
    /// <paramref name="giveUpPause"/> ago (after that its count starts afresh). Reads only; costs no commit.
    /// </summary>
    public Task<(SummaryClaimStatus Status, SummaryClaim? Claim, SummarySpan? Span)> PrepareAsync(
        string chatId, long throughSeq, int everyTurns, int maxAttempts, TimeSpan giveUpPause, int maxChars, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync<(SummaryClaimStatus, SummaryClaim?, SummarySpan?)>(async (snapshot, ct) =>
        {
            var heads = await snapshot.QueryListAsync(
                new SpannerStatement(
                    "SELECT ch.CharacterIds, " +
                    $"(SELECT s.Version {LatestLive}) AS Version, (SELECT s.ThroughSeq {LatestLive}) AS ThroughSeq, (SELECT s.Text {LatestLive}) AS Text, " +
                    "j.ThroughSeq AS JobThroughSeq, j.Attempts AS JobAttempts, j.LeaseUntil > CURRENT_TIMESTAMP() AS JobWaiting, " +
                    "TIMESTAMP_ADD(j.LeaseUntil, INTERVAL @pauseMs MILLISECOND) <= CURRENT_TIMESTAMP() AS JobRested " +
                    "FROM Chats ch LEFT JOIN SummaryJobs j ON j.ChatId = ch.ChatId WHERE ch.ChatId = @chatId")
                    .Add("chatId", chatId).Add("pauseMs", (long)giveUpPause.TotalMilliseconds),
                ct);
            if (heads.Count == 0)
            {
                return (SummaryClaimStatus.Covered, null, null);
            }

            var head = heads[0];
            var baseVersion = head.IsNull("Version") ? 0 : head.Get<long>("Version");
            var baseThrough = head.IsNull("Version") ? 0 : head.Get<long>("ThroughSeq");
            var baseText = head.IsNull("Version") ? "" : head.Get<string>("Text");
            var jobThrough = head.IsNull("JobThroughSeq") ? (long?)null : head.Get<long>("JobThroughSeq");
            var target = Math.Max(throughSeq, jobThrough ?? 0);

            // The trigger decided on the summary its window knew; the chat's latest may be newer (a job that
            // committed since): a span shorter than K after it is not due yet, so summaries stay K turns apart.
            if (target - baseThrough < everyTurns)
            {
                return (jobThrough is null ? SummaryClaimStatus.Covered : SummaryClaimStatus.CoveredWithRow, null, null);
            }

            if (jobThrough is not null && head.Get<bool>("JobWaiting"))
            {
                return (SummaryClaimStatus.Waiting, null, null);
            }

            // A longer span than the failed job's row names starts its count again; so does the same span
            // once it rested Summary:GiveUpPause after its attempts ran out (its row is overwritten then).
            var attempts = jobThrough == target ? (int)head.Get<long>("JobAttempts") : 0;
            if (attempts >= maxAttempts && head.Get<bool>("JobRested"))
            {
                attempts = 0;
            }

            if (attempts >= maxAttempts)
            {
                return (SummaryClaimStatus.GaveUp, null, null);
            }

            var claim = new SummaryClaim(chatId, target, baseVersion, baseThrough, baseText, attempts + 1);
            var characterIds = head.Get<List<string>>("CharacterIds");
            var characters = await snapshot.QueryListAsync(
                new SpannerStatement("SELECT CharacterId, DisplayName, ModelRoute FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                    .Add("ids", characterIds),
                ct);
            var names = characters.ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("DisplayName"));
            var routes = characters.ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("ModelRoute"));
            var rows = await snapshot.QueryListAsync(
                new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq > @from AND t.Seq <= @through AND t.HiddenTime IS NULL ORDER BY t.Seq")
                    .Add("chatId", chatId).Add("from", claim.BaseThroughSeq).Add("through", claim.ThroughSeq),
                ct);
            var shown = rows.Select(r => ReadTurn(chatId, r)).ToList();
            var turns = new List<ChatTurn>();
            var chars = 0;
            var cut = false;
            // Replies withheld by moderation are never summarized (their text is not stored; the state says so explicitly).
            foreach (var turn in shown.Where(t => t.State != ReplyState.Filtered && !string.IsNullOrWhiteSpace(t.Text)))
            {
                if (turns.Count > 0 && chars + turn.Text.Length > maxChars)
                {
                    cut = true;
                    break;
                }

                turns.Add(turn);
                chars += turn.Text.Length;
            }

            var route = characterIds.Select(id => routes.GetValueOrDefault(id)).FirstOrDefault(r => r is not null) ?? "default";
            return (SummaryClaimStatus.Claimed, claim, new SummarySpan(turns, names, route, cut, [.. shown.Select(t => t.Seq)]));
        }, cancellationToken);

    /// <summary>
    /// Stores version max+1 of the chat's summary through <paramref name="throughSeq"/> (at most the claim's)
    /// and ends a failed job's row, with the calls that made it, in one commit, if the claim's base is still
    /// the chat's latest live version and the span's shown turns through <paramref name="throughSeq"/> are
    /// still those the job read (a rewind or restore in the span since would make the text wrong); otherwise
    /// logs the calls only. Returns the summary stored (null: none). The cached window is brought along in
    /// place (<see cref="TurnCommits.SummaryStoredAsync{T}"/>), so warm replies keep reading no Spanner.
    /// </summary>
    public async Task<ChatSummary?> CommitAsync(
        SummaryClaim claim, SummarySpan span, long throughSeq, string text, int turnCount, string replica, IReadOnlyList<ModelCallRecord> calls, CancellationToken cancellationToken)
    {
        var expected = span.ShownSeqs.Where(s => s <= throughSeq).ToList();
        var commit = await commits.RunAsync(claim.ChatId, async (tx, _, ct) =>
        {
            var rows = await tx.QueryListAsync(
                new SpannerStatement(
                    "SELECT (SELECT IFNULL(MAX(s.Version), 0) FROM ChatSummaries s WHERE s.ChatId = ch.ChatId) AS MaxVersion, " +
                    $"(SELECT s.Version {LatestLive}) AS LiveVersion, " +
                    "ARRAY(SELECT t.Seq FROM Turns t WHERE t.ChatId = ch.ChatId AND t.Seq > @from AND t.Seq <= @through AND t.HiddenTime IS NULL ORDER BY t.Seq) AS Shown, " +
                    "(SELECT j.ThroughSeq FROM SummaryJobs j WHERE j.ChatId = ch.ChatId) AS JobThroughSeq " +
                    "FROM Chats ch WHERE ch.ChatId = @chatId")
                    .Add("chatId", claim.ChatId).Add("from", claim.BaseThroughSeq).Add("through", throughSeq),
                ct);
            long? version = null;
            if (rows.Count == 1
                && (rows[0].IsNull("LiveVersion") ? 0 : rows[0].Get<long>("LiveVersion")) == claim.BaseVersion
                && (rows[0].Get<List<long>?>("Shown") ?? []).SequenceEqual(expected))
            {
                version = rows[0].Get<long>("MaxVersion") + 1;
                tx.BufferWrite(SpannerMutation.Insert("ChatSummaries")
                    .Set("ChatId", claim.ChatId)
                    .Set("Version", version.Value)
                    .Set("BaseVersion", claim.BaseVersion)
                    .Set("FromSeq", claim.BaseThroughSeq + 1)
                    .Set("ThroughSeq", throughSeq)
                    .Set("Text", text)
                    .Set("TurnCount", (long)turnCount)
                    .Set("Replica", replica)
                    .Set("CreateTime", SpannerCommitTimestamp.Value));

                // A failed attempt's row, if this summary covers its span (read in this transaction: a newer
                // failure for a longer span stays, for the sweep).
                if (!rows[0].IsNull("JobThroughSeq") && rows[0].Get<long>("JobThroughSeq") <= throughSeq)
                {
                    tx.BufferWrite(SpannerMutation.Delete("SummaryJobs", SpannerKey.Of(claim.ChatId)));
                }
            }

            if (rows.Count == 1)
            {
                LogCalls(tx, claim, version, replica, calls);
            }

            return version;
        }, cancellationToken);

        if (commit.Result is not { } stored)
        {
            await commits.ReleaseAsync(commit);
            return null;
        }

        var summary = new ChatSummary(stored, throughSeq, text, commit.Committed);
        await commits.SummaryStoredAsync(commit, summary);
        return summary;
    }

    /// <summary>
    /// A failed attempt: logs its calls and records the job in SummaryJobs (its span, the attempts so far
    /// and the error) until now + <paramref name="retryDelay"/>, when the sweep of any replica takes it up
    /// again. Guarded like the commit, in the same transaction: the row is written only if the claim's base
    /// is still the latest live version, the span's shown turns are still <paramref name="shownSeqs"/>, a
    /// row for a longer span is never shortened, and a row deleted since the claim read it (a rewind, a
    /// stored summary) is not brought back. Returns whether the row was written.
    /// </summary>
    public async Task<bool> FailAsync(
        SummaryClaim claim, IReadOnlyList<long> shownSeqs, string replica, string error, TimeSpan retryDelay, IReadOnlyList<ModelCallRecord> calls, CancellationToken cancellationToken)
    {
        var expected = shownSeqs.Where(s => s <= claim.ThroughSeq).ToList();
        var (written, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var rows = await tx.QueryListAsync(
                new SpannerStatement(
                    $"SELECT (SELECT s.Version {LatestLive}) AS LiveVersion, " +
                    "ARRAY(SELECT t.Seq FROM Turns t WHERE t.ChatId = ch.ChatId AND t.Seq > @from AND t.Seq <= @through AND t.HiddenTime IS NULL ORDER BY t.Seq) AS Shown, " +
                    "(SELECT j.ThroughSeq FROM SummaryJobs j WHERE j.ChatId = ch.ChatId) AS JobThroughSeq " +
                    "FROM Chats ch WHERE ch.ChatId = @chatId")
                    .Add("chatId", claim.ChatId).Add("from", claim.BaseThroughSeq).Add("through", claim.ThroughSeq),
                ct);
            if (rows.Count == 0)
            {
                return false;
            }

            var row = rows[0];
            var jobThrough = row.IsNull("JobThroughSeq") ? (long?)null : row.Get<long>("JobThroughSeq");
            var write = (row.IsNull("LiveVersion") ? 0 : row.Get<long>("LiveVersion")) == claim.BaseVersion
                && (row.Get<List<long>?>("Shown") ?? []).SequenceEqual(expected)
                && (jobThrough is { } through ? through <= claim.ThroughSeq : claim.Attempt == 1);
            if (write)
            {
                tx.BufferWrite(SpannerMutation.InsertOrUpdate("SummaryJobs")
                    .Set("ChatId", claim.ChatId)
                    .Set("ThroughSeq", claim.ThroughSeq)
                    .Set("Owner", "")
                    .Set("LeaseUntil", timeProvider.GetUtcNow() + retryDelay)
                    .Set("Attempts", (long)claim.Attempt)
                    .Set("LastError", error)
                    .Set("CreateTime", SpannerCommitTimestamp.Value));
            }

            LogCalls(tx, claim, version: null, replica, calls);
            return write;
        }, cancellationToken);
        return written;
    }

    /// <summary>
    /// Drops a failed job's row that a stored summary made moot: only if, read in the same transaction, its
    /// span ends less than <paramref name="everyTurns"/> turns past the latest live summary (a newer failure
    /// for a longer span stays).
    /// </summary>
    public Task ForgetAsync(string chatId, int everyTurns, CancellationToken cancellationToken) =>
        spanner.TransactionAsync(async (tx, ct) =>
        {
            var rows = await tx.QueryListAsync(
                new SpannerStatement(
                    $"SELECT j.ThroughSeq, (SELECT s.ThroughSeq {LatestLive.Replace("ch.ChatId", "j.ChatId", StringComparison.Ordinal)}) AS BaseThroughSeq " +
                    "FROM SummaryJobs j WHERE j.ChatId = @chatId")
                    .Add("chatId", chatId),
                ct);
            if (rows.Count == 1 && rows[0].Get<long>("ThroughSeq") - (rows[0].IsNull("BaseThroughSeq") ? 0 : rows[0].Get<long>("BaseThroughSeq")) < everyTurns)
            {
                tx.BufferWrite(SpannerMutation.Delete("SummaryJobs", SpannerKey.Of(chatId)));
            }
        }, cancellationToken);

    /// <summary>Jobs whose lease or retry delay ran out and that may be tried again, the longest expired first.</summary>
    public Task<IReadOnlyList<(string ChatId, long ThroughSeq)>> ExpiredAsync(int maxAttempts, int limit, CancellationToken cancellationToken) =>
        spanner.ReadAsync<IReadOnlyList<(string, long)>>(async (reader, ct) =>
        {
            var rows = await reader.QueryListAsync(
                new SpannerStatement(
                    "SELECT ChatId, ThroughSeq FROM SummaryJobs@{FORCE_INDEX=SummaryJobsByLease} " +
                    "WHERE LeaseUntil < CURRENT_TIMESTAMP() AND Attempts < @max ORDER BY LeaseUntil LIMIT @limit")
                    .Add("max", (long)maxAttempts).Add("limit", (long)limit),
                ct);
            return rows.Select(r => (r.Get<string>("ChatId"), r.Get<long>("ThroughSeq"))).ToList();
        }, cancellationToken);

    private static void LogCalls(SpannerTransaction tx, SummaryClaim claim, long? version, string replica, IReadOnlyList<ModelCallRecord> calls)
    {
        foreach (var call in calls)
        {
            tx.BufferWrite(ModelCallColumns.Set(SpannerMutation.Insert("SummaryCalls")
                .Set("ChatId", claim.ChatId)
                .Set("CallId", Ids.New())
                .Set("ThroughSeq", claim.ThroughSeq)
                .Set("Version", version)
                .Set("Replica", replica)
                .Set("Attempt", (long)claim.Attempt), call));
        }
    }
}
