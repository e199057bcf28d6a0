using ChatService.Cache;
using ChatService.Memory;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Tests.Cache;

/// <summary>
/// <see cref="RedisCachePurge"/> against the real Redis Cluster, for the sorted sets of held summary leases
/// (<c>summary:leases:{k}</c>, <see cref="SummaryOptions.LeaseShards"/> of them): a purged chat's members are
/// taken off the shard <see cref="SummaryLeases.ShardOf"/> puts it in (the summary code's own rule, on the
/// configured shard count), and only there; other chats' members stay, in its shard and in the others. Each
/// test uses chats of its own (shards are shared keys) and takes its members off again.
/// </summary>
public sealed class RedisCachePurgeTests(RedisConnectionFixture fixture) : IClassFixture<RedisConnectionFixture>
{
    /// <summary>Not the default (16): the purge must follow the configured count, as the summary leases do.</summary>
    private const int Shards = 5;

    private IDatabase Db => fixture.Redis.GetDatabase();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private RedisCachePurge Purge() => new(
        fixture.Redis,
        Options.Create(new RedisOptions { OperationTimeout = TimeSpan.FromSeconds(5) }),
        Options.Create(new SummaryOptions { LeaseShards = Shards }),
        TimeProvider.System);

    [Fact]
    public async Task APurgedChatsSummaryLeases_GoFromItsOwnShard_AndNothingElseIsTouched()
    {
        var chat = NewChat();
        var shard = SummaryLeases.ShardOf(chat, Shards);
        var neighbour = NewChat(inShard: shard);
        var elsewhere = NewChat(notInShard: shard);
        var own = SummaryLeases.ListKey(chat, Shards);
        var other = SummaryLeases.ListKey(elsewhere, Shards);
        Assert.NotEqual(own, other);
        // A member of the chat's in a shard it does not hash to: no code lists it there, so the purge, which
        // reads the chat's own shard only, leaves it (one that read every shard would take it).
        var stray = $"{chat}|12";
        try
        {
            await SeedAsync(own, $"{chat}|4", $"{chat}|8", $"{neighbour}|4");
            await SeedAsync(other, stray, $"{elsewhere}|4");

            var purge = Purge();
            await purge.PurgeAsync(purge.ChatKeys(chat, []), Ct);

            Assert.Equal([$"{neighbour}|4"], await MembersAsync(own, chat, neighbour, elsewhere));
            Assert.Equal(Sorted($"{elsewhere}|4", stray), await MembersAsync(other, chat, neighbour, elsewhere));
        }
        finally
        {
            await Db.SortedSetRemoveAsync(own, [$"{chat}|4", $"{chat}|8", $"{neighbour}|4"]);
            await Db.SortedSetRemoveAsync(other, [stray, $"{elsewhere}|4"]);
        }
    }

    [Fact]
    public async Task ABatchOfChatsInSeveralShards_LosesItsMembersFromEach_AndTheirNeighboursKeepTheirs()
    {
        var first = NewChat();
        var second = NewChat(notInShard: SummaryLeases.ShardOf(first, Shards));
        var firstKey = SummaryLeases.ListKey(first, Shards);
        var secondKey = SummaryLeases.ListKey(second, Shards);
        var firstNeighbour = NewChat(inShard: SummaryLeases.ShardOf(first, Shards));
        var secondNeighbour = NewChat(inShard: SummaryLeases.ShardOf(second, Shards));
        try
        {
            await SeedAsync(firstKey, $"{first}|2", $"{firstNeighbour}|2");
            await SeedAsync(secondKey, $"{second}|6", $"{second}|10", $"{secondNeighbour}|6");
            var purge = Purge();

            await purge.PurgeAsync([.. purge.ChatKeys(first, []), .. purge.ChatKeys(second, [])], Ct);

            string[] chats = [first, second, firstNeighbour, secondNeighbour];
            Assert.Equal([$"{firstNeighbour}|2"], await MembersAsync(firstKey, chats));
            Assert.Equal([$"{secondNeighbour}|6"], await MembersAsync(secondKey, chats));
        }
        finally
        {
            await Db.SortedSetRemoveAsync(firstKey, [$"{first}|2", $"{firstNeighbour}|2"]);
            await Db.SortedSetRemoveAsync(secondKey, [$"{second}|6", $"{second}|10", $"{secondNeighbour}|6"]);
        }
    }

    /// <summary>
    /// A new chat id; in shard <paramref name="inShard"/>, or in any shard but <paramref name="notInShard"/>. Never
    /// one whose shard on the default count is the same number (its key would be the same): a purge that read the
    /// default count instead of the configured one would then find the members all the same, by chance.
    /// </summary>
    private static string NewChat(int? inShard = null, int? notInShard = null)
    {
        var defaultShards = new SummaryOptions().LeaseShards;
        while (true)
        {
            var chat = Guid.NewGuid().ToString();
            var shard = SummaryLeases.ShardOf(chat, Shards);
            if ((inShard is null || shard == inShard) && (notInShard is null || shard != notInShard) && shard != SummaryLeases.ShardOf(chat, defaultShards))
            {
                return chat;
            }
        }
    }

    /// <summary>Lists the members as a held lease's listing does (scored by an expiry an hour away).</summary>
    private async Task SeedAsync(RedisKey key, params string[] members)
    {
        var until = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds();
        await Db.SortedSetAddAsync(key, [.. members.Select(m => new SortedSetEntry(m, until))]);
    }

    /// <summary>The members of <paramref name="key"/> of the given chats (the shards are shared with other tests' chats), sorted.</summary>
    private async Task<IReadOnlyList<string>> MembersAsync(RedisKey key, params string[] chats) =>
        [.. (await Db.SortedSetRangeByRankAsync(key)).Select(m => m.ToString())
            .Where(m => chats.Any(c => m.StartsWith(c + "|", StringComparison.Ordinal))).Order(StringComparer.Ordinal)];

    private static string[] Sorted(params string[] members) => [.. members.Order(StringComparer.Ordinal)];
}
