using ChatService.Chats;
using ChatService.Portability;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>
/// Chats as exports read them (everything a shown turn has, from one snapshot a page at a time) and
/// as imports write them (in batches, into a chat nobody owns until the last batch). What a user owns,
/// for ExportMyData, is listed here too.
/// </summary>
internal sealed partial class ChatArchiveStore(SpannerGateway spanner)
{
    /// <summary>
    /// The user's chat with its settings and its cast's names, and the timestamp of the snapshot it was
    /// read in: the turns are read at the same one (<see cref="ReadTurnsAsync"/>), so an export is one
    /// consistent picture of the chat however long it streams. Null for a chat that is not the user's.
    /// </summary>
    public Task<(ArchivedChat Chat, DateTimeOffset ReadAt)?> ReadChatAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync<(ArchivedChat, DateTimeOffset)?>(async (reader, ct) =>
        {
            var rows = await reader.QueryListAsync(
                new SpannerStatement($"SELECT {ChatColumns}, MemoryNote, MemoryDepth FROM Chats WHERE ChatId = @chatId").Add("chatId", chatId), ct);
            if (rows.Count == 0 || rows[0].Get<string>("UserId") != userId)
            {
                return null;
            }

            var chat = ReadChat(rows[0]);
            var names = (await reader.QueryListAsync(
                    new SpannerStatement("SELECT CharacterId, DisplayName FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                        .Add("ids", SpannerType.ArrayOf(SpannerType.String), chat.CharacterIds.ToList()),
                    ct))
                .ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("DisplayName"));
            var archived = new ArchivedChat(
                chat.Id,
                chat.Title,
                chat.CreateTime,
                [.. chat.CharacterIds.Select(id => new ArchivedCharacter(id, names.GetValueOrDefault(id, "")))],
                chat.Speakers ?? SpeakerSettings.Default,
                chat.PinnedSeqs ?? [],
                rows[0].Get<string?>("MemoryNote"),
                rows[0].Get<long?>("MemoryDepth") is { } depth ? (int)depth : null);
            return (archived, ((SpannerSnapshot)reader).ReadTimestamp);
        }, cancellationToken);

    /// <summary>Up to <paramref name="limit"/> shown turns after <paramref name="afterSeq"/>, oldest first, each with all it has, as of <paramref name="readAt"/>.</summary>
    public Task<IReadOnlyList<ArchivedTurn>> ReadTurnsAsync(
        string ownerId, string chatId, long afterSeq, int limit, DateTimeOffset readAt, CancellationToken cancellationToken) =>
        spanner.SnapshotAtAsync<IReadOnlyList<ArchivedTurn>>(readAt, async (reader, ct) =>
        {
            var turnRows = await reader.QueryListAsync(
                new SpannerStatement(
                    "SELECT Seq, AuthorRole, CharacterId, Text, ReplyToSeq, PrimaryCandidateId, CreateTime, Edited FROM Turns " +
                    "WHERE ChatId = @chatId AND Seq > @after AND HiddenTime IS NULL ORDER BY Seq LIMIT @limit")
                    .Add("chatId", chatId).Add("after", afterSeq).Add("limit", (long)limit),
                ct);
            if (turnRows.Count == 0)
            {
                return [];
            }

            var candidates = (await reader.QueryListAsync(
                    Range(
                        "SELECT c.Seq, c.CandidateId, c.State, c.Text, c.Edited, c.FailureCode, c.FailureReason, c.FilterCategory, c.CreateTime, " +
                        "r.Stars, r.Tags, r.Comment, r.UpdateTime AS RatingTime FROM Candidates c " +
                        "LEFT JOIN Ratings r ON r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId AND r.UserId = @owner " +
                        "WHERE c.ChatId = @chatId AND c.Seq IN UNNEST(@seqs) ORDER BY c.Seq, c.CreateTime, c.CandidateId",
                        chatId, turnRows).Add("owner", ownerId),
                    ct))
                .ToLookup(r => r.Get<long>("Seq"), ReadCandidate);
            var revisions = (await reader.QueryListAsync(
                    Range("SELECT Seq, Revision, CandidateId, Text, EditTime FROM TurnRevisions WHERE ChatId = @chatId AND Seq IN UNNEST(@seqs) ORDER BY Seq, Revision",
                        chatId, turnRows),
                    ct))
                .ToLookup(r => r.Get<long>("Seq"));
            return [.. turnRows.Select(row => ReadArchivedTurn(row, [.. candidates[row.Get<long>("Seq")]], revisions[row.Get<long>("Seq")]))];
        }, cancellationToken);

    /// <summary>The ids of every chat the user owns (imports still under way are nobody's yet).</summary>
    public Task<IReadOnlyList<string>> ListChatIdsAsync(string userId, CancellationToken cancellationToken) =>
        ListIdsAsync("SELECT ChatId AS Id FROM Chats@{FORCE_INDEX=ChatsByUser} WHERE UserId = @userId ORDER BY LastActiveTime DESC", userId, cancellationToken);

    /// <summary>The ids of every character the user made, deleted ones too, newest first.</summary>
    public Task<IReadOnlyList<string>> ListCharacterIdsAsync(string userId, CancellationToken cancellationToken) =>
        ListIdsAsync("SELECT CharacterId AS Id FROM Characters@{FORCE_INDEX=CharactersByOwner} WHERE OwnerUserId = @userId ORDER BY CreateTime DESC", userId, cancellationToken);

    private async Task<IReadOnlyList<string>> ListIdsAsync(string sql, string userId, CancellationToken cancellationToken)
    {
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(new SpannerStatement(sql).Add("userId", userId), ct), cancellationToken);
        return [.. rows.Select(r => r.Get<string>("Id"))];
    }

    /// <summary>The statement for the page's shown turns only (by their seqs, so the rows of hidden turns between them are never read).</summary>
    private static SpannerStatement Range(string sql, string chatId, List<SpannerRow> turnRows) =>
        new SpannerStatement(sql).Add("chatId", chatId).Add("seqs", SpannerType.ArrayOf(SpannerType.Int64), turnRows.Select(r => r.Get<long>("Seq")).ToList());

    private static (string Id, ArchivedCandidate Candidate) ReadCandidate(SpannerRow row) =>
        (row.Get<string>("CandidateId"), new ArchivedCandidate(
            row.Get<string>("CandidateId"),
            (ReplyState)row.Get<long>("State"),
            row.Get<string?>("Text"),
            row.Get<bool?>("Edited") ?? false,
            row.Get<string?>("FailureCode"),
            row.Get<string?>("FailureReason"),
            row.Get<DateTimeOffset>("CreateTime"),
            row.IsNull("Stars")
                ? null
                : new TurnRating((int)row.Get<long>("Stars"), row.Get<List<string>>("Tags"), row.Get<string?>("Comment"), row.Get<DateTimeOffset>("RatingTime")))
        {
            FilterCategory = row.Get<string?>("FilterCategory"),
        });

    private static ArchivedTurn ReadArchivedTurn(SpannerRow row, List<(string Id, ArchivedCandidate Candidate)> candidates, IEnumerable<SpannerRow> revisions)
    {
        var role = (AuthorRole)row.Get<long>("AuthorRole");
        var primaryId = row.Get<string?>("PrimaryCandidateId");
        var index = candidates.Select((c, i) => (c.Id, i)).ToDictionary(p => p.Id, p => p.i);
        var archivedRevisions = new List<ArchivedRevision>();
        foreach (var revision in revisions)
        {
            int? candidate = null;
            if (revision.Get<string?>("CandidateId") is { } candidateId)
            {
                if (!index.TryGetValue(candidateId, out var at))
                {
                    continue;
                }

                candidate = at;
            }

            archivedRevisions.Add(new ArchivedRevision(revision.Get<long>("Revision"), candidate, revision.Get<string>("Text"), revision.Get<DateTimeOffset>("EditTime")));
        }

        return new ArchivedTurn(
            row.Get<long>("Seq"),
            role,
            row.Get<string?>("CharacterId"),
            row.Get<DateTimeOffset>("CreateTime"),
            row.Get<long?>("ReplyToSeq"),
            role == AuthorRole.User ? row.Get<string?>("Text") ?? "" : null,
            role == AuthorRole.User && (row.Get<bool?>("Edited") ?? false),
            primaryId is not null && index.TryGetValue(primaryId, out var primary) ? primary : 0,
            [.. candidates.Select(c => c.Candidate)],
            archivedRevisions);
    }
}
