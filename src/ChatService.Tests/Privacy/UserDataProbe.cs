using ChatService.Tests.Infrastructure;
using Spanner.Client;

namespace ChatService.Tests.Privacy;

/// <summary>
/// What a deletion test needs of the stores themselves: many chats written straight through batched mutations
/// (1,000 CreateChat calls would take minutes on the emulator), every row of any table that names one of a set
/// of ids, and every key on the Redis Cluster's primaries that does.
/// </summary>
internal static class UserDataProbe
{
    /// <summary>
    /// Writes <paramref name="count"/> chats of <paramref name="userId"/> with <paramref name="characterId"/>, each with a
    /// user turn (with a request id, so it has an index entry), a reply with its candidate, and the user's rating of
    /// it, 250 chats a commit. Returns their ids.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SeedChatsAsync(
        SpannerDatabaseClient database, string userId, string characterId, int count, CancellationToken cancellationToken)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid().ToString()).ToList();
        foreach (var chunk in ids.Chunk(250))
        {
            var mutations = new List<SpannerMutation>();
            foreach (var chatId in chunk)
            {
                var candidateId = Guid.NewGuid().ToString();
                mutations.Add(SpannerMutation.Insert("Chats")
                    .Set("ChatId", chatId).Set("UserId", userId).Set("Title", $"seeded {chatId[..8]}")
                    .Set("CharacterIds", new List<string> { characterId }).Set("NextSeq", 2L).Set("RotationCursor", 0L)
                    .Set("LastMessagePreview", "seeded reply").Set("CreateTime", SpannerCommitTimestamp.Value).Set("LastActiveTime", SpannerCommitTimestamp.Value));
                mutations.Add(SpannerMutation.Insert("Turns")
                    .Set("ChatId", chatId).Set("Seq", 1L).Set("AuthorRole", 1L).Set("Text", "a seeded message").Set("RequestId", "seed-1")
                    .Set("CandidateCount", 0L).Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
                mutations.Add(SpannerMutation.Insert("Turns")
                    .Set("ChatId", chatId).Set("Seq", 2L).Set("AuthorRole", 2L).Set("CharacterId", characterId).Set("ReplyToSeq", 1L)
                    .Set("PrimaryCandidateId", candidateId).Set("CandidateCount", 1L)
                    .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
                mutations.Add(SpannerMutation.Insert("Candidates")
                    .Set("ChatId", chatId).Set("Seq", 2L).Set("CandidateId", candidateId).Set("State", 3L).Set("Text", "seeded reply")
                    .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
                mutations.Add(SpannerMutation.Insert("Ratings")
                    .Set("ChatId", chatId).Set("Seq", 2L).Set("CandidateId", candidateId).Set("UserId", userId).Set("Stars", 4L)
                    .Set("Tags", new List<string> { "seeded" }).Set("UpdateTime", SpannerCommitTimestamp.Value));
            }

            await database.WriteAsync(mutations, cancellationToken);
        }

        return ids;
    }

    /// <summary>
    /// "table.column: n" for every column of a string type (or array of strings) of every table that holds any of
    /// <paramref name="ids"/>, with how many rows do; empty when none does. Read from INFORMATION_SCHEMA, so a
    /// table added later is searched too.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RowsNamingAsync(SpannerDatabaseClient database, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var columns = await database.QueryListAsync(new SpannerStatement(
            "SELECT TABLE_NAME, COLUMN_NAME, SPANNER_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '' " +
            "AND (STARTS_WITH(SPANNER_TYPE, 'STRING') OR STARTS_WITH(SPANNER_TYPE, 'ARRAY<STRING')) ORDER BY TABLE_NAME, COLUMN_NAME"), cancellationToken: cancellationToken);
        var found = new List<string>();
        foreach (var column in columns)
        {
            var (table, name) = (column.Get<string>("TABLE_NAME"), column.Get<string>("COLUMN_NAME"));
            var condition = column.Get<string>("SPANNER_TYPE").StartsWith("ARRAY", StringComparison.Ordinal)
                ? $"EXISTS(SELECT 1 FROM UNNEST(`{name}`) AS v WHERE v IN UNNEST(@ids))"
                : $"`{name}` IN UNNEST(@ids)";
            var rows = await database.QueryListAsync(
                new SpannerStatement($"SELECT COUNT(*) FROM `{table}` WHERE {condition}").Add("ids", ids.ToList()), cancellationToken: cancellationToken);
            var count = rows[0].Get<long>(0);
            if (count > 0)
            {
                found.Add($"{table}.{name}: {count}");
            }
        }

        return found;
    }

    /// <summary>Every key on the cluster's primaries whose name holds one of <paramref name="ids"/> (SCAN of each primary).</summary>
    public static async Task<IReadOnlyList<string>> RedisKeysNamingAsync(LocalStack stack, IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<string>();
        foreach (var port in stack.Endpoints.RedisPorts)
        {
            var role = RedisNodeClient.Fields(await RedisNodeClient.TextAsync(port, cancellationToken, "INFO", "replication")).GetValueOrDefault("role");
            if (role != "master")
            {
                continue;
            }

            var cursor = "0";
            do
            {
                var reply = (object?[])(await RedisNodeClient.ExecuteAsync(port, cancellationToken, "SCAN", cursor, "COUNT", "1000"))!;
                cursor = RedisNodeClient.AsText(reply[0]);
                foreach (var key in ((object?[])reply[1]!).Select(RedisNodeClient.AsText))
                {
                    if (ids.Any(id => key.Contains(id, StringComparison.Ordinal)))
                    {
                        found.Add($"{key} (127.0.0.1:{port})");
                    }
                }
            }
            while (cursor != "0");
        }

        return found;
    }
}
