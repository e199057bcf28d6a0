using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ChatService.Api;
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
        _breaker.Opened += () => BreakerOpened?.Invoke();
    }

    public int WindowTurns => _options.WindowTurns;

    public int HeadTurns => _options.HeadTurns;

    /// <summary>Raised when failures open the breaker: writes may have been missed.</summary>
    public event Action? BreakerOpened;

    /// <summary>Chats whose cached window may have missed a write and must be dropped before use.</summary>
    public bool IsDirty(string chatId) => _dirty.ContainsKey(chatId);

    public int DirtyCount => _dirty.Count;

    /// <summary>The cached window's newest <paramref name="maxTurns"/> turns, decoded (only those cross the network).</summary>
    public async Task<CacheRead> ReadAsync(string chatId, int maxTurns)
    {
        var wanted = Math.Clamp(maxTurns, 1, _options.WindowTurns);
        var result = await RunAsync("read", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(ReadScript, [WindowKey(chatId), FillKey(chatId), PendingKey(chatId)], [wanted, ChangedChannelName(chatId)]),
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

        try
        {
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

                var entry = (byte[])parts[i]!;
                turns.Add(entry.Length == 0 ? ChatTurn.HiddenMarker(chatId, hi - (i - 3), 0) : TurnWire.Decode(entry));
            }

            return new CacheRead(CacheReadKind.Hit, new ChatWindow(chatId, meta.UserId, meta.CharacterIds.ToList(), hi, turns) { PinnedSeqs = meta.PinnedSeqs.ToList(), Memory = WindowCodec.MemoryOf(meta) });
        }
        catch (Exception ex) when (IsUndecodable(ex))
        {
            // A cached value that does not decode comes from a bug or tampering.
            return Untrusted(chatId);
        }
    }

    /// <summary>
    /// The window's head (its newest turns, encoded, as many as <see cref="RedisOptions.HeadTurns"/>)
    /// in one script call; a window without a head is read whole and encoded.
    /// </summary>
    public async Task<HeadRead> ReadHeadAsync(string chatId)
    {
        var result = await RunAsync("read", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(ReadHeadScript, [WindowKey(chatId), FillKey(chatId), PendingKey(chatId)], [ChangedChannelName(chatId)]),
            r => r.IsNull ? "miss" : ((RedisResult[])r!).Length == 1 ? (string)((RedisResult[])r!)[0]! : "hit");
        if (result is null)
        {
            return new HeadRead(CacheReadKind.Unavailable);
        }

        if (result.IsNull)
        {
            return new HeadRead(CacheReadKind.Miss);
        }

        var parts = (RedisResult[])result!;
        if (parts.Length == 1)
        {
            return (string)parts[0]! == "deleted" ? new HeadRead(CacheReadKind.Deleted) : await ReadWholeAsHeadAsync(chatId);
        }

        try
        {
            var meta = WindowCodec.DecodeChat((byte[])parts[0]!);
            var hi = long.Parse((string)parts[1]!, CultureInfo.InvariantCulture);
            var head = (byte[])parts[2]!;
            // Every frame is checked to be a well-formed message before its bytes may reach a client
            // (the near cache then serves it without another look). The head holds every shown turn only
            // if its writer said so and this replica keeps all of its frames (replicas may differ in
            // Redis:HeadTurns while a setting rolls out).
            return TurnWire.Parse(head, _options.HeadTurns) is { } turns && TurnWire.AllMessages(head, turns)
                ? new HeadRead(CacheReadKind.Hit, new WindowHead(meta.UserId, hi, turns,
                    Complete: (string)parts[3]! == "1" && (turns.Count == 0 ? head.Length == 0 : turns.End(turns.Count - 1) == head.Length)))
                : new HeadRead(Untrusted(chatId).Kind);
        }
        catch (Exception ex) when (IsUndecodable(ex))
        {
            // A cached value that does not decode comes from a bug or tampering.
            return new HeadRead(Untrusted(chatId).Kind);
        }
    }

    /// <summary>A window whose head could not be built (a hole was found): its script decides, and the turns are encoded here.</summary>
    private async Task<HeadRead> ReadWholeAsHeadAsync(string chatId)
    {
        var read = await ReadAsync(chatId, _options.HeadTurns);
        return read.Window is { } window
            ? new HeadRead(read.Kind, window.Head(_options.HeadTurns))
            : new HeadRead(read.Kind);
    }

    /// <summary>What decoding a cached value can throw when the value is not as the scripts write it.</summary>
    private static bool IsUndecodable(Exception ex) =>
        ex is InvalidProtocolBufferException or FormatException or InvalidCastException or OverflowException
            or ArgumentException or InvalidOperationException or NullReferenceException or IndexOutOfRangeException;

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
        var claimed = await RunAsync("fill", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(FillScript, [FillKey(chatId)], [token, 10_000]),
            r => (int)r == 1 ? "claimed" : "taken");
        return claimed is not null && (int)claimed == 1 ? token : null;
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
            args.Add(TurnWire.EncodeEntry(turn));
        }

        await RunAsync("populate", "EVALSHA", window.ChatId, db => db.ScriptEvaluateAsync(PopulateScript, [WindowKey(window.ChatId), FillKey(window.ChatId)], [.. args]));
    }

    /// <summary>
    /// Announces a change to the chat about to be committed (see the scripts): until its apply (or
    /// <see cref="ReleaseAsync"/>) ends it, or after <see cref="RedisOptions.ChangeDeadline"/>, the
    /// window is dropped by whoever reads it. Given <paramref name="renew"/>, renews that
    /// announcement's deadline. Returns the announcement's id even when Redis did not answer (it
    /// may have taken it; ending one that is not there is harmless).
    /// </summary>
    public async Task<string> IntendAsync(string chatId, string? renew = null)
    {
        var intent = renew ?? Guid.NewGuid().ToString("N");
        var expiry = _options.Ttl * (1 + _options.TtlJitter) + _options.ChangeDeadline;
        await RunAsync("intend", "EVALSHA", chatId, async db =>
        {
            await db.ScriptEvaluateAsync(IntendScript, [PendingKey(chatId)], [intent, (long)_options.ChangeDeadline.TotalMilliseconds, (long)expiry.TotalMilliseconds]);
            return true;
        });
        return intent;
    }

    /// <summary>Ends an announcement whose change did not commit (left in place on failure: it then only costs a reload).</summary>
    public async Task ReleaseAsync(string chatId, string intent) =>
        await RunAsync("release", "ZREM", chatId, db => db.SortedSetRemoveAsync(PendingKey(chatId), intent));

    /// <summary>Applies committed turn changes to the chat's cached window, if it has one, ending their announcement; a failure marks the chat dirty.</summary>
    public async Task ApplyAsync(string chatId, IReadOnlyList<ChatTurn> turns, string? intent)
    {
        if (turns.Count == 0)
        {
            if (intent is not null)
            {
                await ReleaseAsync(chatId, intent);
            }

            return;
        }

        var args = new List<RedisValue> { _options.WindowTurns, _options.HeadTurns, ChangedChannelName(chatId), intent ?? "" };
        foreach (var turn in turns.OrderBy(t => t.Seq))
        {
            args.Add(turn.Seq);
            args.Add(turn.Version);
            args.Add(TurnWire.EncodeEntry(turn));
        }

        var result = await RunAsync("apply", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(ApplyScript, [WindowKey(chatId), FillKey(chatId), PendingKey(chatId)], [.. args]));
        if (result is null)
        {
            MarkDirty(chatId);
        }
    }

    /// <summary>
    /// Drops the chat's window after a committed change to what its meta keeps (the pins), cancelling a
    /// load in flight (its snapshot may predate the change), then ends the change's announcement;
    /// a failure marks the chat dirty (and leaves the announcement: it then only costs a reload).
    /// </summary>
    public async Task DropAsync(string chatId, string? intent)
    {
        var dropped = await RunAsync("drop", "EVALSHA", chatId, async db =>
        {
            await db.ScriptEvaluateAsync(DropScript, [WindowKey(chatId), FillKey(chatId)], [ChangedChannelName(chatId)]);
            return true;
        });
        if (!dropped)
        {
            MarkDirty(chatId);
            return;
        }

        if (intent is not null)
        {
            await ReleaseAsync(chatId, intent);
        }
    }

    /// <summary>
    /// Takes a newly stored summary into the chat's cached window in place, so the next reply reads no
    /// Spanner for it: only when the window's meta knew the version before it as the chat's newest
    /// (<see cref="ChatMemory.SummaryGeneration"/> = version - 1), which a window loaded after the store, or
    /// after a rewind discarded it, never does. A window that already knows this version or a later one
    /// keeps what it has; any other (or a failed read) is dropped as after a change of the pins. Ends the
    /// change's announcement either way.
    /// </summary>
    public async Task ApplySummaryAsync(string chatId, ChatSummary summary, string? intent)
    {
        var read = await RunAsync("summary-read", "HGET", chatId, async db => (byte[]?)await db.HashGetAsync(WindowKey(chatId), "meta"));
        Proto.CachedChat? cached = null;
        try
        {
            cached = read is null ? null : WindowCodec.DecodeChat(read);
        }
        catch (InvalidProtocolBufferException)
        {
            // Not as the scripts write it: dropped below.
        }

        if (cached is { MemoryKnown: true } && cached.SummaryGeneration >= summary.Version)
        {
            CacheMetrics.SummaryWindow("current");
            // Loaded after the store: it has this version, or what came after it.
            if (intent is not null)
            {
                await ReleaseAsync(chatId, intent);
            }

            return;
        }

        if (read is null || cached is not { MemoryKnown: true } || cached.SummaryGeneration != summary.Version - 1)
        {
            CacheMetrics.SummaryWindow(read is null ? "none" : "dropped");
            await DropAsync(chatId, intent);
            return;
        }

        var updated = cached.Clone();
        updated.SummaryVersion = summary.Version;
        updated.SummaryThroughSeq = summary.ThroughSeq;
        updated.SummaryText = summary.Text;
        updated.SummaryTime = ChatTurn.VersionAt(summary.CreateTime);
        updated.SummaryGeneration = summary.Version;
        var result = await RunAsync("summary", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(
            SummaryScript, [WindowKey(chatId), FillKey(chatId), PendingKey(chatId)], [ChangedChannelName(chatId), intent ?? "", read, updated.ToByteArray()]));
        if (result is null)
        {
            MarkDirty(chatId);
        }
        else
        {
            CacheMetrics.SummaryWindow((int)result switch { 1 => "applied", 0 => "none", _ => "dropped" });
        }
    }

    public async Task TombstoneAsync(string chatId)
    {
        var result = await RunAsync("tombstone", "EVALSHA", chatId, db => db.ScriptEvaluateAsync(
            TombstoneScript, [WindowKey(chatId), FillKey(chatId), PendingKey(chatId)], [(long)_options.TombstoneTtl.TotalMilliseconds, ChangedChannelName(chatId)]));
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
            var deleted = await RunAsync("invalidate", "EVALSHA", chatId, async db =>
            {
                await db.ScriptEvaluateAsync(DropScript, [WindowKey(chatId), FillKey(chatId)], [ChangedChannelName(chatId)]);
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

    // Format 3: turns in the public wire form (issue 13), hidden turns as empty entries and the
    // head's "full" flag (issue 14). Windows of earlier formats ("…:w", "…:w2") are never read, so
    // replicas of both versions during a rolling update cannot misread each other's bytes; see
    // docs/deployment.md.
    internal static RedisKey WindowKey(string chatId) => $"chat:{{{chatId}}}:w3";

    private static RedisKey FillKey(string chatId) => $"chat:{{{chatId}}}:w3:fill";

    internal static RedisKey PendingKey(string chatId) => $"chat:{{{chatId}}}:w3:pending";

    /// <summary>Where every change of the chat's window is announced (sharded: the window's slot).</summary>
    public static RedisChannel ChangedChannel(string chatId) => RedisChannel.Sharded(ChangedChannelName(chatId));

    private static string ChangedChannelName(string chatId) => $"chat:{{{chatId}}}:w3:changed";

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "Redis {Operation} failed ({Error}: {Message}); served from Spanner.")]
        public static partial void OperationFailed(ILogger logger, string operation, string error, string message);

        [LoggerMessage(4002, LogLevel.Information, "Redis answers again; the history cache is back in use.")]
        public static partial void BreakerClosed(ILogger logger);
    }
}
