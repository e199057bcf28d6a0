using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>What a claim of a chat's summary job found.</summary>
internal enum SummaryClaimStatus
{
    /// <summary>The job is this replica's until its lease runs out.</summary>
    Claimed,

    /// <summary>The chat's summary already covers the span (another job stored it), or the chat is gone.</summary>
    Covered,

    /// <summary>Another replica holds the job and its lease has not run out.</summary>
    Busy,

    /// <summary>The job failed lately and waits for its retry delay.</summary>
    Waiting,

    /// <summary>The span was tried as often as allowed.</summary>
    GaveUp,
}

/// <summary>
/// A claimed summary job: the span after the base version's through-seq up to <see cref="ThroughSeq"/>,
/// and the base version (0: none) it folds in; the commit stores a new version only while that base is
/// still the chat's latest and the claim still this replica's.
/// </summary>
internal sealed record SummaryClaim(string ChatId, long ThroughSeq, long BaseVersion, long BaseThroughSeq, string BaseText, int Attempt);

/// <summary>The turns a summary job folds in, with the cast's names and the route of the chat's first character.</summary>
/// <param name="Cut">True when the span's text was over the job's input bound and <see cref="Turns"/> stops early.</param>
internal sealed record SummarySpan(IReadOnlyList<ChatTurn> Turns, IReadOnlyDictionary<string, string> Names, string FirstCharacterRoute, bool Cut);

/// <summary>
/// The summary job's rows: its claim (SummaryJobs), the summaries (ChatSummaries) and its model-call log
/// (SummaryCalls). Every decision is made in a read-write transaction on the chat's own rows, so two
/// replicas racing on the same span serialize there and only one stores a version.
/// </summary>
internal sealed class SummaryJobStore(SpannerGateway spanner, TurnCommits commits, TimeProvider timeProvider)
{
    private const string LatestLive =
        "SELECT Version, ThroughSeq, Text FROM ChatSummaries WHERE ChatId = @chatId AND DiscardTime IS NULL ORDER BY Version DESC LIMIT 1";

    /// <summary>
    /// Claims the chat's job for the span through <paramref name="throughSeq"/> (or the longer span a job row
    /// already names) for <paramref name="replica"/> until now + <paramref name="lease"/>: unless the summary
    /// covers it already or it is fewer than <paramref name="everyTurns"/> turns past the summary, another replica's lease is live, a failed attempt's retry delay is not over, or the
    /// span was tried <paramref name="maxAttempts"/> times.
    /// </summary>
    public async Task<(SummaryClaimStatus Status, SummaryClaim? Claim)> ClaimAsync(
        string chatId, long throughSeq, int everyTurns, string replica, TimeSpan lease, int maxAttempts, CancellationToken cancellationToken)
    {
        var (result, _) = await spanner.TransactionAsync<(SummaryClaimStatus, SummaryClaim?)>(async (tx, ct) =>
        {
            var latest = await tx.QueryListAsync(new SpannerStatement(LatestLive).Add("chatId", chatId), ct);
            var baseVersion = latest.Count == 0 ? 0 : latest[0].Get<long>("Version");
            var baseThrough = latest.Count == 0 ? 0 : latest[0].Get<long>("ThroughSeq");
            var baseText = latest.Count == 0 ? "" : latest[0].Get<string>("Text");
            var jobs = await tx.QueryListAsync(
                new SpannerStatement(
                    "SELECT ThroughSeq, Owner, Attempts, LeaseUntil > CURRENT_TIMESTAMP() AS Live FROM SummaryJobs WHERE ChatId = @chatId")
                    .Add("chatId", chatId),
                ct);
            var job = jobs.Count == 0 ? null : jobs[0];
            var target = Math.Max(throughSeq, job?.Get<long>("ThroughSeq") ?? 0);
            // The trigger decided on the summary its window knew; the chat's latest may be newer (a job that
            // committed since): a span shorter than K after it is not due yet, so summaries stay K turns apart.
            if (target - baseThrough < everyTurns)
            {
                if (job is not null)
                {
                    tx.BufferWrite(SpannerMutation.Delete("SummaryJobs", SpannerKey.Of(chatId)));
                }

                return (SummaryClaimStatus.Covered, null);
            }

            if (job is not null && job.Get<bool>("Live"))
            {
                var owner = job.Get<string>("Owner");
                if (owner.Length > 0 && owner != replica)
                {
                    return (SummaryClaimStatus.Busy, null);
                }

                if (owner.Length == 0)
                {
                    return (SummaryClaimStatus.Waiting, null);
                }
            }

            // A longer span than the job row names starts its count again.
            var attempts = job is not null && job.Get<long>("ThroughSeq") == target ? (int)job.Get<long>("Attempts") : 0;
            if (attempts >= maxAttempts)
            {
                return (SummaryClaimStatus.GaveUp, null);
            }

            if (await ReadChatAsync(tx, chatId, ct) is null)
            {
                return (SummaryClaimStatus.Covered, null);
            }

            tx.BufferWrite(SpannerMutation.InsertOrUpdate("SummaryJobs")
                .Set("ChatId", chatId)
                .Set("ThroughSeq", target)
                .Set("Owner", replica)
                .Set("LeaseUntil", timeProvider.GetUtcNow() + lease)
                .Set("Attempts", (long)attempts + 1)
                .Set("CreateTime", SpannerCommitTimestamp.Value));
            return (SummaryClaimStatus.Claimed, new SummaryClaim(chatId, target, baseVersion, baseThrough, baseText, attempts + 1));
        }, cancellationToken);
        return result;
    }

    /// <summary>
    /// The shown turns of the claim's span, oldest first (rewound and deleted turns are never summarized),
    /// stopping before <paramref name="maxChars"/> of text (at least one turn); with the cast's names.
    /// </summary>
    public Task<SummarySpan?> ReadSpanAsync(SummaryClaim claim, int maxChars, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync<SummarySpan?>(async (snapshot, ct) =>
        {
            if (await ReadChatAsync(snapshot, claim.ChatId, ct) is not { } chat)
            {
                return null;
            }

            var characters = await snapshot.QueryListAsync(
                new SpannerStatement("SELECT CharacterId, DisplayName, ModelRoute FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                    .Add("ids", chat.CharacterIds.ToList()),
                ct);
            var names = characters.ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("DisplayName"));
            var routes = characters.ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("ModelRoute"));
            var rows = await snapshot.QueryListAsync(
                new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq > @from AND t.Seq <= @through AND t.HiddenTime IS NULL ORDER BY t.Seq")
                    .Add("chatId", claim.ChatId).Add("from", claim.BaseThroughSeq).Add("through", claim.ThroughSeq),
                ct);
            var turns = new List<ChatTurn>();
            var chars = 0;
            var cut = false;
            // Replies withheld by moderation are never summarized (their text is not stored; the state says so explicitly).
            foreach (var turn in rows.Select(r => ReadTurn(claim.ChatId, r)).Where(t => t.State != ReplyState.Filtered && !string.IsNullOrWhiteSpace(t.Text)))
            {
                if (turns.Count > 0 && chars + turn.Text.Length > maxChars)
                {
                    cut = true;
                    break;
                }

                turns.Add(turn);
                chars += turn.Text.Length;
            }

            var route = chat.CharacterIds.Select(id => routes.GetValueOrDefault(id)).FirstOrDefault(r => r is not null) ?? "default";
            return new SummarySpan(turns, names, route, cut);
        }, cancellationToken);

    /// <summary>
    /// Stores version max+1 of the chat's summary through <paramref name="throughSeq"/> (at most the claim's)
    /// and ends the job, with the calls that made it, if the claim is still this replica's and its base still
    /// the latest; otherwise logs the calls only. Returns the version stored (null: none). A stored version
    /// drops the chat's cached window, which carries the summary.
    /// </summary>
    public async Task<long?> CommitAsync(
        SummaryClaim claim, long throughSeq, string text, int turnCount, string replica, IReadOnlyList<ModelCallRecord> calls, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(claim.ChatId, async (tx, _, ct) =>
        {
            var version = await StillOursAsync(tx, claim, replica, ct) ? await NextVersionAsync(tx, claim.ChatId, ct) : (long?)null;
            if (version is { } v)
            {
                tx.BufferWrite(SpannerMutation.Insert("ChatSummaries")
                    .Set("ChatId", claim.ChatId)
                    .Set("Version", v)
                    .Set("BaseVersion", claim.BaseVersion)
                    .Set("FromSeq", claim.BaseThroughSeq + 1)
                    .Set("ThroughSeq", throughSeq)
                    .Set("Text", text)
                    .Set("TurnCount", (long)turnCount)
                    .Set("Replica", replica)
                    .Set("CreateTime", SpannerCommitTimestamp.Value));
                tx.BufferWrite(SpannerMutation.Delete("SummaryJobs", SpannerKey.Of(claim.ChatId)));
            }

            LogCalls(tx, claim, version, replica, calls);
            return version;
        }, cancellationToken);

        await (commit.Result is null ? commits.ReleaseAsync(commit) : commits.ChatChangedAsync(commit));
        return commit.Result;
    }

    /// <summary>
    /// A failed attempt: logs its calls and, if the claim is still this replica's, releases it until now +
    /// <paramref name="retryDelay"/>, when the sweep of any replica takes it up again.
    /// </summary>
    public async Task FailAsync(SummaryClaim claim, string replica, string error, TimeSpan retryDelay, IReadOnlyList<ModelCallRecord> calls, CancellationToken cancellationToken)
    {
        await spanner.TransactionAsync(async (tx, ct) =>
        {
            if (await StillOursAsync(tx, claim, replica, ct, checkBase: false))
            {
                tx.BufferWrite(SpannerMutation.Update("SummaryJobs")
                    .Set("ChatId", claim.ChatId)
                    .Set("Owner", "")
                    .Set("LeaseUntil", timeProvider.GetUtcNow() + retryDelay)
                    .Set("LastError", error));
            }

            LogCalls(tx, claim, version: null, replica, calls);
        }, cancellationToken);
    }

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

    private static async Task<bool> StillOursAsync(SpannerTransaction tx, SummaryClaim claim, string replica, CancellationToken ct, bool checkBase = true)
    {
        var jobs = await tx.QueryListAsync(
            new SpannerStatement("SELECT ThroughSeq, Owner FROM SummaryJobs WHERE ChatId = @chatId").Add("chatId", claim.ChatId), ct);
        if (jobs.Count == 0 || jobs[0].Get<string>("Owner") != replica || jobs[0].Get<long>("ThroughSeq") != claim.ThroughSeq)
        {
            // Taken over after our lease ran out, or dropped by a rewind below the span.
            return false;
        }

        if (!checkBase)
        {
            return true;
        }

        var latest = await tx.QueryListAsync(new SpannerStatement(LatestLive).Add("chatId", claim.ChatId), ct);
        return (latest.Count == 0 ? 0 : latest[0].Get<long>("Version")) == claim.BaseVersion;
    }

    private static async Task<long> NextVersionAsync(SpannerTransaction tx, string chatId, CancellationToken ct)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT IFNULL(MAX(Version), 0) AS Version FROM ChatSummaries WHERE ChatId = @chatId").Add("chatId", chatId), ct);
        return rows[0].Get<long>("Version") + 1;
    }

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
