using ChatService.Chats;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Deletes a user's keys from Redis Cluster (DeleteMyData). Keys are deleted a hash tag at a time, with one
/// script per tag, so every call touches a single slot; a chat's script also publishes on the chat's change
/// channel, so replicas holding its head in their near cache drop it.
/// </summary>
internal sealed class RedisCachePurge(
    IConnectionMultiplexer redis, IOptions<RedisOptions> options, IOptions<Memory.SummaryOptions> summaryOptions, TimeProvider timeProvider) : ICachePurge
{
    /// <summary>KEYS: the keys of one hash tag. ARGV: the chat's change channel, or '' for none.</summary>
    private const string PurgeScript =
        """
        redis.call('DEL', unpack(KEYS))
        if ARGV[1] ~= '' then redis.call('SPUBLISH', ARGV[1], 'deleted') end
        return 1
        """;

    /// <summary>Most keys one script deletes (a chat with many recent replies takes several).</summary>
    private const int KeysPerCall = 500;

    public IReadOnlyList<string> ChatKeys(string chatId, IEnumerable<(long Seq, string CandidateId, int Continuations)> replies)
    {
        var window = HistoryCache.WindowKey(chatId).ToString();
        var pending = HistoryCache.PendingKey(chatId).ToString();
        return
        [
            window, window + ":fill", pending,
            // Earlier formats' windows (never read by this release, gone within their TTL; deleted all the same).
            $"chat:{{{chatId}}}:w", $"chat:{{{chatId}}}:w:pending", $"chat:{{{chatId}}}:fill",
            $"chat:{{{chatId}}}:w2", $"chat:{{{chatId}}}:w2:pending", $"chat:{{{chatId}}}:w2:fill",
            DefinitionTokens.ChatLorebooksKey(chatId),
            Memory.SummaryLeases.LeaseKey(chatId).ToString(), Memory.SummaryLeases.AttemptsKey(chatId).ToString(),
            // Every generation's log: the reply's (continuation 0) and each ContinueReply's (…:c1 to …:cN).
            .. replies.SelectMany(r => Enumerable.Range(0, Math.Max(0, r.Continuations) + 1)
                .Select(n => RedisReplyLog.LogKey(new ReplyKey(chatId, r.Seq, r.CandidateId, n)).ToString())),
        ];
    }

    public IReadOnlyList<string> CharacterKeys(string characterId) => [DefinitionTokens.CharacterKey(characterId)];

    public IReadOnlyList<string> LorebookKeys(string lorebookId) => [DefinitionTokens.LorebookKey(lorebookId)];

    public IReadOnlyList<string> UserKeys(string userId) => [DefinitionTokens.PersonasKey(userId)];

    public async Task PurgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        var chats = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in keys.Distinct(StringComparer.Ordinal).GroupBy(HashTag, StringComparer.Ordinal))
        {
            var isChat = group.Any(k => k.StartsWith("chat:", StringComparison.Ordinal));
            var channel = isChat ? $"chat:{{{group.Key}}}:w3:changed" : "";
            if (isChat)
            {
                chats.Add(group.Key);
            }

            foreach (var chunk in group.Chunk(KeysPerCall))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await database.ScriptEvaluateAsync(PurgeScript, [.. chunk.Select(k => (RedisKey)k)], [channel])
                    .WaitAsync(options.Value.OperationTimeout, timeProvider, cancellationToken);
            }
        }

        if (chats.Count > 0)
        {
            await RemoveSummaryLeasesAsync(database, chats, cancellationToken);
        }
    }

    /// <summary>
    /// Takes the chats' members (<c>chatId|throughSeq</c>) off the sorted sets of held summary leases, which
    /// have no hash tag of theirs (each shard its own slot). Only the shards of the batch's chats are read,
    /// and each holds only leases held now (a few per running summary job), so one ZSCAN of each per batch
    /// of chats costs little, whatever the batch's size.
    /// </summary>
    private async Task RemoveSummaryLeasesAsync(IDatabase database, HashSet<string> chats, CancellationToken cancellationToken)
    {
        var timeout = options.Value.OperationTimeout;
        var shards = summaryOptions.Value.LeaseShards;
        foreach (var key in chats.Select(c => Memory.SummaryLeases.ListKey(c, shards)).Distinct())
        {
            var members = new List<RedisValue>();
            await foreach (var entry in database.SortedSetScanAsync(key, pageSize: 500).WithCancellation(cancellationToken))
            {
                var member = entry.Element.ToString();
                var bar = member.LastIndexOf('|');
                if (bar > 0 && chats.Contains(member[..bar]))
                {
                    members.Add(entry.Element);
                }
            }

            foreach (var chunk in members.Chunk(KeysPerCall))
            {
                await database.SortedSetRemoveAsync(key, chunk).WaitAsync(timeout, timeProvider, cancellationToken);
            }
        }
    }

    /// <summary>The key's hash tag (what decides its slot); every key here has one.</summary>
    private static string HashTag(string key)
    {
        var open = key.IndexOf('{', StringComparison.Ordinal);
        var close = open < 0 ? -1 : key.IndexOf('}', open + 1);
        return close > open + 1 ? key[(open + 1)..close] : key;
    }
}

/// <summary>Without Redis there is nothing to purge.</summary>
internal sealed class NoCachePurge : ICachePurge
{
    public IReadOnlyList<string> ChatKeys(string chatId, IEnumerable<(long Seq, string CandidateId, int Continuations)> replies) => [];

    public IReadOnlyList<string> CharacterKeys(string characterId) => [];

    public IReadOnlyList<string> LorebookKeys(string lorebookId) => [];

    public IReadOnlyList<string> UserKeys(string userId) => [];

    public Task PurgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => Task.CompletedTask;
}
