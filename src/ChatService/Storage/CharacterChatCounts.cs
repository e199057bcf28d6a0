using System.Numerics;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// How many chats were started with each character (its <see cref="Character.ChatCount"/>, the catalog's
/// "most used" order), counted in the commit that creates a chat without making a popular character's
/// row a hot spot. A new chat adds one to a random one of <see cref="Shards"/> counter rows of each of its
/// characters (CharacterChatCounts, interleaved in Characters), so concurrent chats with one character
/// rarely wait for the same lock. The rows are summed into Characters.ChatCount and the catalog's rows
/// (a fold) only when the shard just counted reaches a fold point: every count up to 15, then every
/// 1/8 or so more (<see cref="IsFoldPoint"/>). So a character is counted exactly while each of its
/// shards is under 16, and later lags its true count by at most about 1/8 until its next fold; a
/// character with a million chats, started 50 a second, is folded about every 80 seconds instead of
/// 50 times a second (docs/capacity.md).
/// </summary>
internal static class CharacterChatCounts
{
    /// <summary>Counter rows per character. Fixed: a fold sums whatever rows exist.</summary>
    public const int Shards = 16;

    /// <summary>
    /// In the transaction that creates a chat with <paramref name="characterIds"/> (distinct, all
    /// existing): counts it in shard <paramref name="shard"/> of each, and folds those whose shard
    /// reached a fold point, writing their chat count and catalog rows.
    /// </summary>
    public static async Task CountChatAsync(SpannerTransaction tx, IReadOnlyList<string> characterIds, int shard, CancellationToken cancellationToken)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT CharacterId, ChatCount FROM CharacterChatCounts WHERE CharacterId IN UNNEST(@ids) AND Shard = @shard")
                .Add("ids", SpannerType.ArrayOf(SpannerType.String), characterIds.ToList())
                .Add("shard", (long)shard),
            cancellationToken);
        var counted = rows.ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<long>("ChatCount"));
        var due = new List<string>();
        foreach (var id in characterIds.Distinct())
        {
            var count = counted.GetValueOrDefault(id) + 1;
            tx.BufferWrite(SpannerMutation.InsertOrUpdate("CharacterChatCounts")
                .Set("CharacterId", id)
                .Set("Shard", (long)shard)
                .Set("ChatCount", count));
            if (IsFoldPoint(count))
            {
                due.Add(id);
            }
        }

        if (due.Count > 0)
        {
            await FoldAsync(tx, due, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a shard that just reached <paramref name="count"/> folds: every count below 16, then every
    /// 2^(k-3)-th in [2^k, 2^(k+1)), i.e. about every 1/8 more.
    /// </summary>
    public static bool IsFoldPoint(long count) =>
        count < 16 || count % (1L << (BitOperations.Log2((ulong)count) - 3)) == 0;

    /// <summary>
    /// Sums the counter rows of <paramref name="characterIds"/> into their chat count and catalog rows.
    /// The reads do not see this transaction's own increments, which are one per character.
    /// </summary>
    private static async Task FoldAsync(SpannerTransaction tx, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement(
                $"SELECT {CharacterStore.CharacterColumns}, " +
                "(SELECT IFNULL(SUM(s.ChatCount), 0) FROM CharacterChatCounts s WHERE s.CharacterId = c.CharacterId) AS Counted " +
                "FROM Characters c WHERE c.CharacterId IN UNNEST(@ids)")
                .Add("ids", SpannerType.ArrayOf(SpannerType.String), characterIds.ToList()),
            cancellationToken);
        foreach (var row in rows)
        {
            var before = CharacterStore.ReadCharacter(row);
            var count = row.Get<long>("Counted") + 1;
            if (count <= before.ChatCount)
            {
                continue;
            }

            tx.BufferWrite(SpannerMutation.Update("Characters").Set("CharacterId", before.Id).Set("ChatCount", count));
            CatalogEntries.Write(tx, before, before with { ChatCount = count });
        }
    }
}
