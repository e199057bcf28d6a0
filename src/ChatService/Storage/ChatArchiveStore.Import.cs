using ChatService.Chats;
using ChatService.Portability;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class ChatArchiveStore
{
    /// <summary>
    /// How long an import's ChatImports row is kept (its row deletion policy) and read: past it a retry starts
    /// over, and the chat of an import that never finished is the data deletion sweep's to delete.
    /// </summary>
    internal static readonly TimeSpan ImportRetention = TimeSpan.FromDays(7);

    /// <summary>
    /// The import recorded under the user's request id, or a new one: its chat inserted for nobody (UserId
    /// '', so no listing or read reaches it) with its cast and settings, and its progress row, in one
    /// commit. The same request id with another file is FAILED_PRECONDITION.
    /// </summary>
    public async Task<ImportProgress> StartImportAsync(ChatImportPlan plan, CancellationToken cancellationToken)
    {
        var (progress, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            if (await ReadImportAsync(tx, plan.UserId, plan.RequestId, ct) is { } recorded)
            {
                return recorded.Matching(plan.Digest, plan.RequestId);
            }

            // Like CreateChat, an import starts only with characters that exist, are not deleted and the user can see.
            await CharacterStore.CheckOpenToAsync(tx, plan.UserId, plan.CharacterIds, ct);
            var chatId = Ids.New();
            tx.BufferWrite(ChatRows.SetSpeakers(SpannerMutation.Insert("Chats"), plan.Speakers)
                .Set("ChatId", chatId)
                .Set("UserId", "")
                .Set("Title", plan.Title)
                .Set("CharacterIds", plan.CharacterIds.ToList())
                .Set("NextSeq", 0L)
                .Set("RotationCursor", 0L)
                .Set("LastMessagePreview", "")
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            // Replace: a row past its retention that the row deletion policy has not removed yet is read as gone.
            tx.BufferWrite(SpannerMutation.Replace("ChatImports")
                .Set("UserId", plan.UserId)
                .Set("RequestId", plan.RequestId)
                .Set("ChatId", chatId)
                .Set("Digest", plan.Digest)
                .Set("TurnCount", (long)plan.Turns.Count)
                .Set("TurnsWritten", 0L)
                .Set("Done", false)
                .Set("SpeakerIds", plan.Turns.Select(t => t.CharacterId ?? "").ToList())
                .Set("CandidateCount", plan.CandidateCount)
                .Set("SkippedSystemMessages", (long)plan.SkippedSystemMessages)
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            return new ImportProgress(chatId, plan.Digest, 0, false, [.. plan.Turns.Select(t => t.CharacterId ?? "")])
            {
                Counts = plan.Counts,
            };
        }, cancellationToken);
        return progress;
    }

    /// <summary>
    /// Writes <paramref name="count"/> turns of the plan after those <paramref name="progress"/> says are
    /// written, in one commit; the batch that writes the last turn also gives the chat to its user with its
    /// pins and memory note. When another attempt got further meanwhile, nothing is written and its
    /// progress is returned.
    /// </summary>
    public async Task<ImportProgress> WriteImportBatchAsync(ChatImportPlan plan, ImportProgress progress, int count, CancellationToken cancellationToken)
    {
        var (next, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadImportAsync(tx, plan.UserId, plan.RequestId, ct)
                ?? throw new ChatException(ChatErrorKind.Unavailable, "the import's record is gone (kept 7 days); import again with a new request_id");
            if (current.Done || current.TurnsWritten != progress.TurnsWritten)
            {
                return current;
            }

            var written = (int)current.TurnsWritten;
            var rows = new TurnMutations(tx);
            for (var i = written; i < Math.Min(written + count, plan.Turns.Count); i++)
            {
                var turn = plan.Turns[i];
                rows.InsertImported(current.ChatId, plan.UserId, turn, [.. turn.Candidates.Select(_ => Ids.New())]);
            }

            var done = written + count >= plan.Turns.Count;
            if (done)
            {
                var last = plan.Turns.Count == 0 ? null : plan.Turns[^1];
                tx.BufferWrite(SpannerMutation.Update("Chats")
                    .Set("ChatId", current.ChatId)
                    .Set("UserId", plan.UserId)
                    .Set("NextSeq", last?.Seq ?? 0L)
                    .Set("LastMessagePreview", last is null ? "" : Text.Preview(last.ShownText))
                    .Set("PinnedSeqs", plan.PinnedSeqs.Count == 0 ? null : plan.PinnedSeqs.ToList())
                    .Set("MemoryNote", plan.MemoryNote)
                    .Set("MemoryDepth", plan.MemoryDepth is { } depth ? (long?)depth : null)
                    .Set("MemoryUpdateTime", plan.MemoryNote is null ? null : SpannerCommitTimestamp.Value)
                    .Set("LastActiveTime", SpannerCommitTimestamp.Value));
            }

            var moved = current with { TurnsWritten = written + count, Done = done };
            tx.BufferWrite(SpannerMutation.Update("ChatImports")
                .Set("UserId", plan.UserId)
                .Set("RequestId", plan.RequestId)
                .Set("TurnsWritten", moved.TurnsWritten)
                .Set("Done", done)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            return moved;
        }, cancellationToken);
        return next;
    }

    /// <summary>The import recorded under the user's request id, read before anything else so a finished or resumed one never looks at the cast again; null when there is none.</summary>
    public Task<ImportProgress?> FindImportAsync(string userId, string requestId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ReadImportAsync(reader, userId, requestId, ct), cancellationToken);

    private static async Task<ImportProgress?> ReadImportAsync(ISpannerReader reader, string userId, string requestId, CancellationToken ct)
    {
        var rows = await reader.QueryListAsync(
            // Rows past their retention are gone (whether or not the row deletion policy removed them yet), so an
            // import the sweep may delete the chat of can never write into it again.
            new SpannerStatement(
                    "SELECT ChatId, Digest, TurnCount, TurnsWritten, Done, SpeakerIds, CandidateCount, SkippedSystemMessages FROM ChatImports " +
                    "WHERE UserId = @userId AND RequestId = @requestId " +
                    "AND CreateTime > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @days DAY)")
                .Add("userId", userId).Add("requestId", requestId).Add("days", (long)ImportRetention.TotalDays),
            ct);
        return rows.Count == 0
            ? null
            : new ImportProgress(
                rows[0].Get<string>("ChatId"),
                rows[0].Get<byte[]>("Digest"),
                rows[0].Get<long>("TurnsWritten"),
                rows[0].Get<bool>("Done"),
                rows[0].IsNull("SpeakerIds") ? null : rows[0].Get<List<string>>("SpeakerIds"))
            {
                Counts = rows[0].IsNull("CandidateCount") || rows[0].IsNull("SkippedSystemMessages")
                    ? null
                    : new ImportCounts((int)rows[0].Get<long>("TurnCount"), (int)rows[0].Get<long>("CandidateCount"), (int)rows[0].Get<long>("SkippedSystemMessages")),
            };
    }
}

/// <summary>
/// How far an import got: its chat, the digest of what it imports, how many of its turns are written, whether
/// the chat is its user's yet, and the character each turn was resolved to by its first commit ('' for a user
/// turn; null for an import started before they were recorded).
/// </summary>
internal sealed record ImportProgress(string ChatId, byte[] Digest, long TurnsWritten, bool Done, IReadOnlyList<string>? SpeakerIds)
{
    /// <summary>What the import reports once finished, as its first commit recorded it; null on a record from before schema version 24.</summary>
    public ImportCounts? Counts { get; init; }

    /// <summary>This record, when it is of the same file and mapping; FAILED_PRECONDITION when the request id was used for another.</summary>
    public ImportProgress Matching(byte[] digest, string requestId) =>
        Digest.AsSpan().SequenceEqual(digest)
            ? this
            : throw new ChatException(ChatErrorKind.FailedPrecondition, $"request_id {requestId} was used to import another file", "request_id");
}

/// <summary>
/// What an import writes, checked and resolved: the new chat's cast, settings and turns (each character
/// turn's character one of the cast; times no later than the import; candidates of a turn in distinct,
/// increasing times), and the digest that ties a request id to it.
/// </summary>
internal sealed record ChatImportPlan(
    string UserId,
    string RequestId,
    byte[] Digest,
    string Title,
    IReadOnlyList<string> CharacterIds,
    SpeakerSettings Speakers,
    IReadOnlyList<long> PinnedSeqs,
    string? MemoryNote,
    int? MemoryDepth,
    IReadOnlyList<ArchivedTurn> Turns)
{
    /// <summary>The SillyTavern system messages the file had (no turn here), recorded for a retry's answer.</summary>
    public int SkippedSystemMessages { get; init; }

    /// <summary>The candidates the import writes.</summary>
    public long CandidateCount => Turns.Sum(t => (long)t.Candidates.Count);

    /// <summary>What the import reports once done: its turns, candidates and the system messages it left out.</summary>
    public ImportCounts Counts => new(Turns.Count, (int)CandidateCount, SkippedSystemMessages);
}

/// <summary>What a finished import reports: the new chat's turns and candidates, and the system messages its file had that have no turn.</summary>
internal sealed record ImportCounts(int Turns, int Candidates, int SkippedSystemMessages);
