using System.Numerics;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// How many chats were started with each character (its <see cref="Character.ChatCount"/>, the catalog's
/// "most used" order), counted in the commit that creates a chat without making a popular character's
/// row a hot spot. A new chat adds one to a random one of <see cref="Shards"/> counter rows of each of its
/// characters (CharacterChatCounts, interleaved in Characters): CreateChat's transaction reads and writes
/// that one row per character and nothing else of it, so concurrent chats with one character rarely wait
/// for the same lock. The rows are summed into Characters.ChatCount and the catalog's rows (a fold)
/// afterwards, outside CreateChat's transaction, one character per transaction (<see cref="FoldAsync"/>,
/// scheduled by <see cref="ChatCountFolder"/>), and only when the shard just counted reaches a fold point:
/// every count up to 15, then every 1/8 or so more (<see cref="IsFoldPoint"/>). So a character is counted
/// exactly (within the folder's interval) while each of its shards is under 16, and later lags its true
/// count by at most about 1/8 until its next fold (docs/capacity.md).
/// </summary>
internal static class CharacterChatCounts
{
    /// <summary>Counter rows per character. Fixed: a fold sums whatever rows exist.</summary>
    public const int Shards = 16;

    /// <summary>
    /// In the transaction that creates a chat with <paramref name="characterIds"/> (distinct, all
    /// existing): counts it in shard <paramref name="shard"/> of each (one row read and written per
    /// character). Returns the characters whose shard reached a fold point, to fold once it commits.
    /// </summary>
    public static async Task<IReadOnlyList<string>> CountChatAsync(SpannerTransaction tx, IReadOnlyList<string> characterIds, int shard, CancellationToken cancellationToken)
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

        return due;
    }

    /// <summary>
    /// Whether a shard that just reached <paramref name="count"/> folds: every count below 16, then every
    /// 2^(k-3)-th in [2^k, 2^(k+1)), i.e. about every 1/8 more.
    /// </summary>
    public static bool IsFoldPoint(long count) =>
        count < 16 || count % (1L << (BitOperations.Log2((ulong)count) - 3)) == 0;

    /// <summary>
    /// Sums the counter rows of <paramref name="characterId"/> into its chat count and catalog rows, in a
    /// transaction of its own. The sum is a strong read outside the transaction, so the fold takes no lock
    /// on the counter rows (CreateChat's increments never wait for it); the transaction locks only the
    /// character's row and writes only if the sum is larger than the count stored, so a fold that runs late,
    /// twice, or after another one never lowers a count. True when it wrote.
    /// </summary>
    public static async Task<bool> FoldAsync(SpannerGateway spanner, string characterId, CancellationToken cancellationToken)
    {
        var counted = (await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(
                new SpannerStatement("SELECT IFNULL(SUM(ChatCount), 0) FROM CharacterChatCounts WHERE CharacterId = @id").Add("id", characterId), ct),
            cancellationToken))[0].Get<long>(0);
        var (wrote, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            if ((await CharacterStore.ReadAsync(tx, [characterId], ct)).FirstOrDefault() is not { IsDeleted: false } before
                || counted <= before.ChatCount)
            {
                return false;
            }

            tx.BufferWrite(CatalogEntries.Catalogued(SpannerMutation.Update("Characters").Set("CharacterId", before.Id).Set("ChatCount", counted)));
            CatalogEntries.Write(tx, before, before with { ChatCount = counted });
            return true;
        }, cancellationToken);
        return wrote;
    }
}
