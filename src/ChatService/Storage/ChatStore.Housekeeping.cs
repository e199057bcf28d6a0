using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>
    /// One page of the user's chats in an archive state, most recently active first, from the
    /// ChatsByUserArchive index (schema version 15), which stores every listed column and the archive time.
    /// The active chats are its range (UserId, NULL), the archived ones (UserId, TRUE): each filter reads one
    /// range from the cursor on, and "all" reads a page from each and merges them, so no filter scans or
    /// sorts more than two pages.
    /// </summary>
    public async Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, ChatArchiveFilter filter, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken)
    {
        SpannerStatement Range(bool archived)
        {
            var sql = $"SELECT {ListedChatColumns}, ArchiveTime FROM Chats@{{FORCE_INDEX=ChatsByUserArchive}} WHERE UserId = @userId AND "
                + (archived ? "Archived = TRUE" : "Archived IS NULL");
            if (after is not null)
            {
                sql += " AND (LastActiveTime < @afterTime OR (LastActiveTime = @afterTime AND ChatId > @afterId))";
            }

            var statement = new SpannerStatement(sql + " ORDER BY LastActiveTime DESC, ChatId LIMIT @limit")
                .Add("userId", userId)
                .Add("limit", (long)limit);
            if (after is { } cursor)
            {
                statement.Add("afterTime", cursor.LastActiveTime).Add("afterId", cursor.ChatId);
            }

            return statement;
        }

        var rows = await spanner.SnapshotAsync(async (reader, ct) =>
        {
            var found = new List<SpannerRow>();
            if (filter != ChatArchiveFilter.Archived)
            {
                found.AddRange(await reader.QueryListAsync(Range(archived: false), ct));
            }

            if (filter != ChatArchiveFilter.Active)
            {
                found.AddRange(await reader.QueryListAsync(Range(archived: true), ct));
            }

            return found;
        }, cancellationToken);
        return rows.Select(ReadChat)
            .OrderByDescending(c => c.LastActiveTime).ThenBy(c => c.Id, StringComparer.Ordinal)
            .Take(limit)
            .ToList();
    }

    /// <summary>
    /// One round of a search, in one snapshot: the user's next <paramref name="examine"/> chats from ChatsByUser
    /// (keys only, no join); their titles in one query (by key); then, per chat, one query for its shown user
    /// turns and one for the primary candidates of its shown character turns (each reads that chat's rows by key
    /// prefix and matches the words with REGEXP_CONTAINS: no full-text index, see <see cref="Matches"/>), the newest <see cref="ChatSearch.MatchesPerChat"/> matches only and the first
    /// <see cref="ChatSearch.SnippetSourceChars"/> characters of their text, at most
    /// <see cref="ChatSearch.QueryFanOut"/> at a time; then the chats that matched, by key. Hidden turns, and
    /// candidates no history shows, never match.
    /// </summary>
    public async Task<ChatSearchRound> SearchChatsAsync(
        string userId, string query, (DateTimeOffset LastActiveTime, string ChatId)? after, int examine, CancellationToken cancellationToken) =>
        await spanner.SnapshotAsync(async (reader, ct) =>
        {
            var sql = "SELECT ChatId, LastActiveTime FROM Chats@{FORCE_INDEX=ChatsByUser} WHERE UserId = @userId";
            if (after is not null)
            {
                sql += " AND (LastActiveTime < @afterTime OR (LastActiveTime = @afterTime AND ChatId > @afterId))";
            }

            var page = new SpannerStatement(sql + " ORDER BY LastActiveTime DESC, ChatId LIMIT @limit")
                .Add("userId", userId)
                .Add("limit", (long)examine + 1);
            if (after is { } cursor)
            {
                page.Add("afterTime", cursor.LastActiveTime).Add("afterId", cursor.ChatId);
            }

            var examined = (await reader.QueryListAsync(page, ct))
                .Select(r => (LastActiveTime: r.Get<DateTimeOffset>("LastActiveTime"), ChatId: r.Get<string>("ChatId")))
                .ToList();
            var more = examined.Count > examine;
            if (more)
            {
                examined.RemoveAt(examined.Count - 1);
            }

            if (examined.Count == 0)
            {
                return new ChatSearchRound([], null, false);
            }

            var ids = examined.Select(e => e.ChatId).ToList();
            var words = query.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var titles = (await reader.QueryListAsync(
                    WithWords(new SpannerStatement($"SELECT ChatId FROM Chats WHERE UserId = @userId AND ChatId IN UNNEST(@ids) AND {Matches("Title", words)}")
                        .Add("userId", userId).Add("ids", ids), words), ct))
                .Select(r => r.Get<string>("ChatId"))
                .ToHashSet(StringComparer.Ordinal);
            // Per chat: each query reads one chat's key range and returns at most its newest MatchesPerChat matches,
            // and only the start of their text, so a page's memory is bounded.
            using var gate = new SemaphoreSlim(ChatSearch.QueryFanOut);
            async Task<List<(string ChatId, ChatSearchMatch Match)>> ProbeAsync(string chatId, string sql, AuthorRole role)
            {
                await gate.WaitAsync(ct);
                try
                {
                    var rows = await reader.QueryListAsync(
                        WithWords(new SpannerStatement(sql).Add("id", chatId).Add("limit", (long)ChatSearch.MatchesPerChat), words), ct);
                    return [.. rows.Select(r => (chatId, new ChatSearchMatch(r.Get<long>("Seq"), role,
                        Text.Preview(r.Get<string?>("Text") ?? "", ChatSearch.SnippetChars))))];
                }
                finally
                {
                    gate.Release();
                }
            }

            var turnSql =
                $"SELECT t.Seq, SUBSTR(t.Text, 1, {ChatSearch.SnippetSourceChars}) AS Text FROM Turns t " +
                "WHERE t.ChatId = @id AND t.AuthorRole = 1 AND t.HiddenTime IS NULL AND " + Matches("t.Text", words) + " ORDER BY t.Seq DESC LIMIT @limit";
            var replySql =
                $"SELECT c.Seq, SUBSTR(c.Text, 1, {ChatSearch.SnippetSourceChars}) AS Text FROM Candidates c " +
                "JOIN Turns t ON t.ChatId = c.ChatId AND t.Seq = c.Seq AND t.PrimaryCandidateId = c.CandidateId " +
                "WHERE c.ChatId = @id AND t.HiddenTime IS NULL AND " + Matches("c.Text", words) + " ORDER BY c.Seq DESC LIMIT @limit";
            var probes = await Task.WhenAll(ids.SelectMany(id => new[]
            {
                ProbeAsync(id, turnSql, AuthorRole.User),
                ProbeAsync(id, replySql, AuthorRole.Character),
            }));
            var matches = probes.SelectMany(p => p)
                .GroupBy(m => m.ChatId, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<ChatSearchMatch>)[.. g.Select(m => m.Match).OrderByDescending(m => m.Seq).Take(ChatSearch.MatchesPerChat)],
                    StringComparer.Ordinal);

            var hitIds = ids.Where(id => titles.Contains(id) || matches.ContainsKey(id)).ToList();
            if (hitIds.Count == 0)
            {
                return new ChatSearchRound([], examined[^1], more);
            }

            var chats = (await reader.QueryListAsync(
                    new SpannerStatement($"SELECT {ChatColumns} FROM Chats WHERE ChatId IN UNNEST(@ids)").Add("ids", hitIds), ct))
                .Select(ReadChat)
                .Where(c => c.UserId == userId)
                .ToDictionary(c => c.Id, StringComparer.Ordinal);
            var hits = hitIds.Where(chats.ContainsKey)
                .Select(id => new ChatSearchHit(chats[id], titles.Contains(id), matches.GetValueOrDefault(id) ?? []))
                .ToList();
            return new ChatSearchRound(hits, examined[^1], more);
        }, cancellationToken);

    /// <summary>
    /// Every word of the query as a whole word of <paramref name="column"/>, case-insensitively: a word is a run
    /// of <see cref="ChatSearch.WordClass"/> characters (as <see cref="ChatSearch.Words"/> cuts the query), so each one must stand
    /// between the text's ends or characters that are none of those. The words reach the query only as
    /// parameters (<c>@w0</c>, <c>@w1</c>, ...).
    /// </summary>
    private static string Matches(string column, IReadOnlyList<string> words) =>
        words.Count == 0 ? "TRUE" : string.Join(" AND ", words.Select((_, i) => $"REGEXP_CONTAINS({column}, @w{i})"));

    private static SpannerStatement WithWords(SpannerStatement statement, IReadOnlyList<string> words)
    {
        for (var i = 0; i < words.Count; i++)
        {
            // The word characters are ChatSearch's, the set its Words cuts the query with.
            statement.Add($"w{i}", ChatSearch.WordPattern(words[i]));
        }

        return statement;
    }
}
