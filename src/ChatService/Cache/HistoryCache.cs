using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatService.Chats;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// The Redis side of the history cache: one window per chat under the chat's hash tag, read and
/// changed only through Lua scripts so every change is atomic. Every call is guarded by a
/// circuit breaker and a timeout and never throws: a failed read is "unavailable" (the caller
/// reads Spanner), a failed write marks the chat dirty, and dirty chats are invalidated once
/// Redis answers again, so a window that missed a write is never served.
/// </summary>
internal sealed partial class HistoryCache
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<HistoryCache> _logger;
    private readonly CircuitBreaker _breaker;
    private readonly ConcurrentDictionary<string, long> _dirty = new();
    private long _dirtyGeneration;

    public HistoryCache(IConnectionMultiplexer redis, IOptions<RedisOptions> options, TimeProvider timeProvider, ILogger<HistoryCache> logger)
    {
        _redis = redis;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _breaker = new CircuitBreaker(_options.BreakerFailureThreshold, _options.BreakerOpenDuration, timeProvider);
        _breaker.Closed += () => Log.BreakerClosed(_logger);
    }

    public int WindowTurns => _options.WindowTurns;

    /// <summary>Chats whose cached window may have missed a write and must be dropped before use.</summary>
    public bool IsDirty(string chatId) => _dirty.ContainsKey(chatId);

    public int DirtyCount => _dirty.Count;

    /// <summary>The cached window's newest <paramref name="maxTurns"/> turns (only those cross the network).</summary>
    public async Task<CacheRead> ReadAsync(string chatId, int maxTurns)
    {
        var wanted = Math.Clamp(maxTurns, 1, _options.WindowTurns);
        try
        {
            return wanted <= _options.HeadTurns && await ReadHeadAsync(chatId, wanted) is { } head
                ? head
                : await ReadWindowAsync(chatId, wanted);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or FormatException or InvalidCastException)
        {
            // A cached value that does not decode comes from a bug or tampering.
            return Untrusted(chatId);
        }
    }

    /// <summary>The first page from the window's head (one HMGET); null when the window has no head.</summary>
    private async Task<CacheRead?> ReadHeadAsync(string chatId, int wanted)
    {
        var values = await RunAsync("read", "HMGET", chatId, db => db.HashGetAsync(WindowKey(chatId), HeadFields), HeadState);
        switch (values is null ? "unavailable" : HeadState(values))
        {
            case "unavailable":
                return new CacheRead(CacheReadKind.Unavailable);
            case "deleted":
                return new CacheRead(CacheReadKind.Deleted);
            case "miss":
                return new CacheRead(CacheReadKind.Miss);
            case "no-head":
                // A hole was found when the head was last rebuilt: the window's script decides.
                return null;
        }

        var meta = WindowCodec.DecodeChat((byte[])values![MetaFieldIndex]!);
        var hi = (long)values[HiFieldIndex];
        var turns = WindowCodec.DecodeHead(chatId, (ReadOnlyMemory<byte>)values[HeadFieldIndex], wanted);
        return turns is null
            ? Untrusted(chatId)
            : new CacheRead(CacheReadKind.Hit, new ChatWindow(chatId, meta.UserId, meta.CharacterIds.ToList(), hi, turns));
    }

    private static string HeadState(RedisValue[] values) =>
        !values[DeletedFieldIndex].IsNull ? "deleted"
        : values[MetaFieldIndex].IsNull ? "miss"
        : values[HeadFieldIndex].IsNull ? "no-head"
        : "hit";

    /// <summary>The window's newest turns through its read script.</summary>
    private async Task<CacheRead> ReadWindowAsync(string chatId, int wanted)
    {
        var result = await RunAsync("read", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(ReadScript, [WindowKey(chatId)], [wanted]),
            r => r.IsNull ? "miss" : ((RedisResult[])r!).Length == 1 ? "deleted" : "hit");
        if (result is null)
        {
            return new CacheRead(CacheReadKind.Unavailable);
        }

        if (result.IsNull)
        {
            return new CacheRead(CacheReadKind.Miss);
        }

        var parts = (RedisResult[])result!;
        if (parts.Length == 1)
        {
            return new CacheRead(CacheReadKind.Deleted);
        }

        var meta = WindowCodec.DecodeChat((byte[])parts[0]!);
        var hi = long.Parse((string)parts[2]!, CultureInfo.InvariantCulture);
        var turns = new List<ChatTurn>(parts.Length - 3);
        for (var i = 3; i < parts.Length; i++)
        {
            if (parts[i].IsNull)
            {
                // A hole can only come from a bug or tampering.
                return Untrusted(chatId);
            }

            turns.Add(WindowCodec.DecodeTurn(chatId, (byte[])parts[i]!));
        }

        return new CacheRead(CacheReadKind.Hit, new ChatWindow(chatId, meta.UserId, meta.CharacterIds.ToList(), hi, turns));
    }

    /// <summary>A window that is not as the scripts write it: not served, and dropped once Redis answers.</summary>
    private CacheRead Untrusted(string chatId)
    {
        MarkDirty(chatId);
        return new CacheRead(CacheReadKind.Unavailable);
    }

    /// <summary>Claims the right to fill a missing window; null when Redis is unavailable or another load holds it.</summary>
    public async Task<string?> BeginFillAsync(string chatId)
    {
        var token = Guid.NewGuid().ToString("N");
        var set = await RunAsync("fill", "SET", chatId, db => db.StringSetAsync(FillKey(chatId), token, TimeSpan.FromSeconds(10), When.NotExists),
            claimed => claimed ? "claimed" : "taken");
        return set ? token : null;
    }

    public async Task PopulateAsync(ChatWindow window, string token)
    {
        var args = new List<RedisValue>
        {
            token,
            (long)Ttl().TotalMilliseconds,
            WindowCodec.Encode(window),
            Math.Max(1, window.LastSeq - window.NewestFirst.Count + 1),
            window.LastSeq,
            _options.HeadTurns,
        };
        foreach (var turn in window.NewestFirst)
        {
            args.Add(turn.Seq);
            args.Add(turn.Version);
            args.Add(WindowCodec.Encode(turn));
        }

        await RunAsync("populate", "EVALSHA", window.ChatId, db => db.ScriptEvaluateAsync(PopulateScript, [WindowKey(window.ChatId), FillKey(window.ChatId)], [.. args]));
    }

    /// <summary>Applies committed turn changes to the chat's cached window, if it has one; a failure marks the chat dirty.</summary>
    public async Task ApplyAsync(string chatId, IReadOnlyList<ChatTurn> turns)
    {
        if (turns.Count == 0)
        {
            return;
        }

        var args = new List<RedisValue> { _options.WindowTurns, _options.HeadTurns };
        foreach (var turn in turns.OrderBy(t => t.Seq))
        {
            args.Add(turn.Seq);
            args.Add(turn.Version);
            args.Add(WindowCodec.Encode(turn));
        }

        var result = await RunAsync("apply", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(ApplyScript, [WindowKey(chatId), FillKey(chatId)], [.. args]));
        if (result is null)
        {
            MarkDirty(chatId);
        }
    }

    public async Task TombstoneAsync(string chatId)
    {
        var result = await RunAsync("tombstone", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(
            TombstoneScript, [WindowKey(chatId), FillKey(chatId)], [(long)_options.TombstoneTtl.TotalMilliseconds]));
        if (result is null)
        {
            MarkDirty(chatId);
        }
    }

    /// <summary>Drops the windows of dirty chats; those Redis could not reach stay dirty for the next round.</summary>
    public async Task<int> FlushDirtyAsync()
    {
        var flushed = 0;
        foreach (var entry in _dirty.ToArray())
        {
            var chatId = entry.Key;
            var deleted = await RunAsync("invalidate", "DEL", chatId, async db =>
            {
                await db.KeyDeleteAsync([WindowKey(chatId), FillKey(chatId)]);
                return true;
            });
            if (!deleted)
            {
                return flushed;
            }

            // Only the mark this DEL covered: one added meanwhile (a later failed write) stays.
            _dirty.TryRemove(entry);
            flushed++;
        }

        return flushed;
    }

    /// <summary>The chat's cached window may have missed a committed change: bypass it until it is dropped.</summary>
    public void MarkDirty(string chatId)
    {
        CacheMetrics.WriteFailed();
        _dirty[chatId] = Interlocked.Increment(ref _dirtyGeneration);
    }

    private TimeSpan Ttl()
    {
        var spread = (Random.Shared.NextDouble() * 2 - 1) * _options.TtlJitter;
        return _options.Ttl * (1 + spread);
    }

    /// <summary>True while the circuit breaker keeps calls away from Redis.</summary>
    public bool IsBypassed => _breaker.IsOpen;

    /// <summary>
    /// Runs one Redis call through the breaker and the timeout, in a span of its own; default on
    /// any failure. <paramref name="describe"/> names a successful result on the span (hit, miss...).
    /// </summary>
    private async Task<T?> RunAsync<T>(string operation, string command, string chatId, Func<IDatabase, Task<T>> call, Func<T, string>? describe = null)
    {
        if (!_breaker.TryEnter())
        {
            return default;
        }

        using var activity = CacheTracing.Start(operation, command, chatId);

        // Bounded by the operation timeout alone, never by a caller's token: every call must end in
        // Success or Failure, or a half-open probe would be left unresolved and the breaker stuck.
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call(_redis.GetDatabase()).WaitAsync(_options.OperationTimeout, _timeProvider);
            _breaker.Success();
            CacheTracing.Succeeded(activity, result, describe);
            return result;
        }
        catch (Exception ex)
        {
            _breaker.Failure();
            CacheTracing.Result(activity, "error", ex);
            Log.OperationFailed(_logger, operation, ex.GetType().Name, ex.Message);
            return default;
        }
        finally
        {
            CacheMetrics.Observe(operation, Stopwatch.GetElapsedTime(started));
        }
    }

    private const int DeletedFieldIndex = 0;
    private const int MetaFieldIndex = 1;
    private const int HiFieldIndex = 2;
    private const int HeadFieldIndex = 3;
    private static readonly RedisValue[] HeadFields = ["deleted", "meta", "hi", "head"];

    private static RedisKey WindowKey(string chatId) => $"chat:{{{chatId}}}:w";

    private static RedisKey FillKey(string chatId) => $"chat:{{{chatId}}}:fill";

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "Redis {Operation} failed ({Error}: {Message}); served from Spanner.")]
        public static partial void OperationFailed(ILogger logger, string operation, string error, string message);

        [LoggerMessage(4002, LogLevel.Information, "Redis answers again; the history cache is back in use.")]
        public static partial void BreakerClosed(ILogger logger);
    }
}
