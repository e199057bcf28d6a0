using System.Collections.Concurrent;
using ChatService.Chats;
using ChatService.Storage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// A reply's definitions (<see cref="IReplyDefinitions"/>) without a Spanner read on a warm chat, still
/// current on every replica. Each character, each user's personas, each lorebook and each chat's set of
/// lorebooks have a token in Redis: a random value that any change deletes after its commit
/// (<see cref="IDefinitionChanges"/>), and that the
/// next reader creates anew (<c>SET … NX GET</c>, one command per key, all pipelined). A replica keeps
/// the definitions it read from Spanner with the tokens it saw <em>before</em> that read, and serves
/// them again only while every token is unchanged:
/// <list type="bullet">
/// <item>a change committed before a reader's token read is in what the reader then reads from Spanner;</item>
/// <item>a change committed after it deletes a token the copy was kept with, so the next reply reads again;</item>
/// <item>a deletion that fails is retried in the background, and a token lives at most
/// <see cref="RedisOptions.DefinitionTokenTtl"/>, which bounds how long a lost one can leave a copy stale;</item>
/// <item>the books a reply uses are known only once read, so the first copy with books is kept without
/// tokens for them: the next reply takes their tokens and reads once more, and from then on they count;</item>
/// <item>with Redis unreachable (or its breaker open) every reply reads Spanner, as without this cache.</item>
/// </list>
/// </summary>
internal sealed partial class DefinitionTokens(
    IConnectionMultiplexer redis,
    ReplyDefinitionReader reader,
    IMemoryCache memory,
    IOptions<RedisOptions> options,
    TimeProvider timeProvider,
    ILogger<DefinitionTokens> logger) : BackgroundService, IReplyDefinitions, IDefinitionChanges
{
    /// <summary>Deletions waiting for a retry at most; past this the token's time to live bounds the staleness alone.</summary>
    private const int MaxUndeleted = 100_000;

    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(250);

    private readonly CircuitBreaker _breaker = new(options.Value.BreakerFailureThreshold, options.Value.BreakerOpenDuration, timeProvider);

    /// <summary>Tokens whose deletion failed, with when it first failed (after a time to live it has expired anyway).</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _undeleted = new(StringComparer.Ordinal);

    private RedisOptions Options => options.Value;

    internal static string CharacterKey(string characterId) => $"def:c:{{{characterId}}}";

    internal static string PersonasKey(string userId) => $"def:p:{{{userId}}}";

    internal static string LorebookKey(string lorebookId) => $"def:l:{{{lorebookId}}}";

    internal static string ChatLorebooksKey(string chatId) => $"def:cl:{{{chatId}}}";

    /// <summary>Replies served from a kept copy and replies that read Spanner, since start (tests and the bench read them).</summary>
    internal long Hits => Interlocked.Read(ref _hits);

    internal long Misses => Interlocked.Read(ref _misses);

    private long _hits;
    private long _misses;

    public Task<ReplyDefinitions> LoadAsync(
        string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, CancellationToken cancellationToken) =>
        LoadAsync(userId, chatId, speakerId, castIds, prefetch: null, cancellationToken);

    /// <summary>
    /// The tokens of the keys the chat's last reply here used (its copy's), read now, while the caller reads
    /// the chat's window: a warm reply then waits for one Redis round trip, not two in a row. The tokens are
    /// read before the definitions are used either way, which is all the copies' currency rests on.
    /// </summary>
    public DefinitionsPrefetch? Prefetch(string chatId)
    {
        if (!memory.TryGetValue(new ChatHint(chatId), out EntryKey? last) || last is null || !memory.TryGetValue(last, out Entry? kept) || kept is null)
        {
            return null;
        }

        return new TokenPrefetch(kept.Keys, TokensAsync(kept.Keys));
    }

    public async Task<ReplyDefinitions> LoadAsync(
        string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, DefinitionsPrefetch? prefetch, CancellationToken cancellationToken)
    {
        var entryKey = new EntryKey(userId, chatId, speakerId);
        var kept = memory.TryGetValue(entryKey, out Entry? held) ? held : null;
        string[] bookKeys = kept?.BookKeys ?? [];
        string[] keys = [PersonasKey(userId), ChatLorebooksKey(chatId), .. castIds.Select(CharacterKey), .. bookKeys];
        var tokens = prefetch is TokenPrefetch early && early.Keys.SequenceEqual(keys) ? await early.Tokens : await TokensAsync(keys);
        Remember(chatId, entryKey);
        if (tokens is not null && kept is { Tokens: { } keptTokens } && kept.Keys.SequenceEqual(keys) && keptTokens.SequenceEqual(tokens))
        {
            Interlocked.Increment(ref _hits);
            return kept.Definitions;
        }

        Interlocked.Increment(ref _misses);
        var definitions = await reader.LoadAsync(userId, chatId, speakerId, castIds, cancellationToken);
        if (tokens is not null)
        {
            // Books whose tokens were not taken before this read can't vouch for it: kept without tokens, to take them next time.
            string[] readBookKeys = [.. definitions.Lorebooks.Select(b => LorebookKey(b.Id)).Order(StringComparer.Ordinal)];
            var entry = readBookKeys.SequenceEqual(bookKeys)
                ? new Entry(keys, tokens, definitions, bookKeys)
                : new Entry([.. keys[..^bookKeys.Length], .. readBookKeys], null, definitions, readBookKeys);
            memory.Set(entryKey, entry, new MemoryCacheEntryOptions
            {
                Size = DefinitionBytes.Of(definitions, speakerId, entry.Keys, entry.Tokens, entry.BookKeys) + DefinitionBytes.Pointer(userId, chatId, speakerId),
                // Past a token's life the copy can only miss: let it go.
                AbsoluteExpirationRelativeToNow = Options.DefinitionTokenTtl,
            });
        }

        return definitions;
    }

    public Task CharacterChangedAsync(string characterId) => DeleteAsync(CharacterKey(characterId));

    public Task PersonasChangedAsync(string userId) => DeleteAsync(PersonasKey(userId));

    public async Task LorebookChangedAsync(string lorebookId, string? characterId)
    {
        await DeleteAsync(LorebookKey(lorebookId));
        if (characterId is not null)
        {
            // The character's set of books may have changed (a new book of its, or one moved to it).
            await DeleteAsync(CharacterKey(characterId));
        }
    }

    public Task ChatLorebooksChangedAsync(string chatId) => DeleteAsync(ChatLorebooksKey(chatId));

    /// <summary>The current token of each key, created where missing; null when Redis cannot tell (read Spanner, keep nothing).</summary>
    private async Task<string[]?> TokensAsync(string[] keys)
    {
        if (!_breaker.TryEnter())
        {
            return null;
        }

        try
        {
            var database = redis.GetDatabase();
            var fresh = Guid.NewGuid().ToString("N");
            var replies = await Task.WhenAll(keys.Select(key =>
                    database.StringSetAndGetAsync(key, fresh, Options.DefinitionTokenTtl, keepTtl: false, When.NotExists)))
                .WaitAsync(Options.OperationTimeout, timeProvider);
            _breaker.Success();
            return [.. replies.Select(r => r.IsNull ? fresh : r.ToString())];
        }
        catch (Exception ex)
        {
            _breaker.Failure();
            Log.TokensUnavailable(logger, ex.GetType().Name, ex.Message);
            return null;
        }
    }

    private async Task DeleteAsync(string key)
    {
        if (await TryDeleteAsync(key))
        {
            return;
        }

        if (_undeleted.Count < MaxUndeleted)
        {
            _undeleted.TryAdd(key, timeProvider.GetUtcNow());
        }
    }

    private async Task<bool> TryDeleteAsync(string key)
    {
        try
        {
            await redis.GetDatabase().KeyDeleteAsync(key).WaitAsync(Options.OperationTimeout, timeProvider);
            return true;
        }
        catch (Exception ex)
        {
            Log.DeleteFailed(logger, key, ex.GetType().Name, ex.Message);
            return false;
        }
    }

    /// <summary>Retries the failed deletions until they succeed or their token has expired anyway.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RetryInterval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            foreach (var (key, since) in _undeleted)
            {
                if (timeProvider.GetUtcNow() - since > Options.DefinitionTokenTtl || await TryDeleteAsync(key))
                {
                    _undeleted.TryRemove(key, out _);
                }
            }
        }
    }

    /// <summary>Makes <paramref name="entryKey"/> the copy <see cref="Prefetch"/> reads the tokens of for the chat.</summary>
    private void Remember(string chatId, EntryKey entryKey)
    {
        var hint = new ChatHint(chatId);
        if (!memory.TryGetValue(hint, out EntryKey? last) || last != entryKey)
        {
            memory.Set(hint, entryKey, new MemoryCacheEntryOptions
            {
                Size = DefinitionBytes.Pointer(chatId, entryKey.UserId, entryKey.ChatId, entryKey.SpeakerId),
                AbsoluteExpirationRelativeToNow = Options.DefinitionTokenTtl,
            });
        }
    }

    private sealed record EntryKey(string UserId, string ChatId, string SpeakerId);

    /// <summary>The key of the chat's last copy used here (the one <see cref="Prefetch"/> starts on).</summary>
    private sealed record ChatHint(string ChatId);

    private sealed class TokenPrefetch(string[] keys, Task<string[]?> tokens) : DefinitionsPrefetch
    {
        public string[] Keys { get; } = keys;

        public Task<string[]?> Tokens { get; } = tokens;
    }

    /// <summary>A kept copy: the keys and the tokens they had before it was read (null: not vouched for yet), and the keys of its books among them.</summary>
    private sealed record Entry(string[] Keys, string[]? Tokens, ReplyDefinitions Definitions, string[] BookKeys);

    private static partial class Log
    {
        [LoggerMessage(4301, LogLevel.Debug, "Definition tokens unavailable ({Type}: {Message}); the reply reads its definitions from Spanner.")]
        public static partial void TokensUnavailable(ILogger logger, string type, string message);

        [LoggerMessage(4302, LogLevel.Warning, "Deleting definition token {Key} failed ({Type}: {Message}); retrying until it expires.")]
        public static partial void DeleteFailed(ILogger logger, string key, string type, string message);
    }
}
