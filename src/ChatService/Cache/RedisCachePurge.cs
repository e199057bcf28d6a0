using ChatService.Chats;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// Deletes a user's keys from Redis Cluster (DeleteMyData). Keys are deleted a hash tag at a time, with one
/// script per tag, so every call touches a single slot; a chat's script also publishes on the chat's change
/// channel, so replicas holding its head in their near cache drop it.
/// </summary>
internal sealed class RedisCachePurge(IConnectionMultiplexer redis, IOptions<RedisOptions> options, TimeProvider timeProvider) : ICachePurge
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

    public IReadOnlyList<string> ChatKeys(string chatId, IEnumerable<(long Seq, string CandidateId)> replies)
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
            .. replies.Select(r => RedisReplyLog.LogKey(new ReplyKey(chatId, r.Seq, r.CandidateId)).ToString()),
        ];
    }

    public IReadOnlyList<string> CharacterKeys(string characterId) => [DefinitionTokens.CharacterKey(characterId)];

    public IReadOnlyList<string> LorebookKeys(string lorebookId) => [DefinitionTokens.LorebookKey(lorebookId)];

    public IReadOnlyList<string> UserKeys(string userId) => [DefinitionTokens.PersonasKey(userId)];

    public async Task PurgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var database = redis.GetDatabase();
        foreach (var group in keys.Distinct(StringComparer.Ordinal).GroupBy(HashTag, StringComparer.Ordinal))
        {
            var isChat = group.Any(k => k.StartsWith("chat:", StringComparison.Ordinal));
            var channel = isChat ? $"chat:{{{group.Key}}}:w3:changed" : "";
            foreach (var chunk in group.Chunk(KeysPerCall))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await database.ScriptEvaluateAsync(PurgeScript, [.. chunk.Select(k => (RedisKey)k)], [channel])
                    .WaitAsync(options.Value.OperationTimeout, timeProvider, cancellationToken);
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
    public IReadOnlyList<string> ChatKeys(string chatId, IEnumerable<(long Seq, string CandidateId)> replies) => [];

    public IReadOnlyList<string> CharacterKeys(string characterId) => [];

    public IReadOnlyList<string> LorebookKeys(string lorebookId) => [];

    public IReadOnlyList<string> UserKeys(string userId) => [];

    public Task PurgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken) => Task.CompletedTask;
}
