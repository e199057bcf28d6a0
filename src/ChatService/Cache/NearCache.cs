using System.Collections.Concurrent;
using ChatService.Chats;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// This replica's copies of hot window heads, in front of Redis. A head is kept only while this
/// replica listens to its chat's change channel, on which every script that changes the window
/// announces it; an announcement drops the copy.
/// <list type="bullet">
/// <item>a copy is installed only from a read that began after the subscription was confirmed, that
/// no announcement or whole-cache drop raced (a per-chat generation and a cache epoch), and that
/// began after the read of the copy it replaces (a per-chat read number), so a read that raced a
/// change can be returned to its caller but never kept;</item>
/// <item>this replica's own changes drop the copy as soon as they are applied (<see cref="Changed"/>),
/// without waiting for their announcement to come back;</item>
/// <item>everything is dropped when an announcement could have been missed: the connection failed
/// or came back, the cluster's layout changed, or the breaker opened;</item>
/// <item>a copy is served at most <see cref="RedisOptions.NearCacheMaxAge"/> after its read began,
/// the bound should an announcement be lost some other way (e.g. a subscription the server
/// dropped when its slot moved);</item>
/// <item>while a chat is held, its last sequence number never goes back on this replica: a head
/// older than one kept is refused (<see cref="Accept"/> says so) and the window is reloaded.</item>
/// </list>
/// Memory is bounded by <see cref="RedisOptions.NearCacheBytes"/>; the least recently used chats go first.
/// </summary>
internal sealed partial class NearCache : IDisposable
{
    /// <summary>Bookkeeping per chat beyond its head's bytes: the slot, its subscription and the dictionary entry.</summary>
    private const int SlotOverhead = 512;

    private readonly ConcurrentDictionary<string, Slot> _slots = new();

    /// <summary>Unsubscribes in flight, per chat: a new subscription to the same channel waits for them.</summary>
    private readonly ConcurrentDictionary<string, Task> _leaving = new();

    private readonly IConnectionMultiplexer _redis;
    private readonly HistoryCache _cache;
    private readonly ISubscriber _subscriber;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<NearCache> _logger;
    private readonly long _maxBytes;
    private readonly TimeSpan _maxAge;
    private readonly Lock _evicting = new();
    private long _bytes;
    private int _count;
    private long _epoch;

    public NearCache(IConnectionMultiplexer redis, HistoryCache cache, IOptions<RedisOptions> options, TimeProvider timeProvider, ILogger<NearCache> logger)
    {
        _redis = redis;
        _cache = cache;
        _subscriber = redis.GetSubscriber();
        _timeProvider = timeProvider;
        _logger = logger;
        _maxBytes = options.Value.NearCacheBytes;
        _maxAge = options.Value.NearCacheMaxAge;
        if (!Enabled)
        {
            return;
        }

        redis.ConnectionFailed += OnConnectionFailed;
        redis.ConnectionRestored += OnConnectionRestored;
        redis.ConfigurationChanged += OnConfigurationChanged;
        redis.HashSlotMoved += OnHashSlotMoved;
        cache.BreakerOpened += OnBreakerOpened;
        CacheMetrics.ObserveNear(this);
    }

    public bool Enabled => _maxBytes > 0;

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => Volatile.Read(ref _count);

    /// <summary>The chat's head, if a copy is kept and young enough.</summary>
    public bool TryGet(string chatId, out WindowHead head)
    {
        if (_slots.TryGetValue(chatId, out var slot) && slot.Kept is { } copy && _timeProvider.GetElapsedTime(copy.ReadAt) < _maxAge)
        {
            slot.LastUsed = _timeProvider.GetTimestamp();
            CacheMetrics.NearHit();
            head = copy.Head;
            return true;
        }

        CacheMetrics.NearMiss();
        head = null!;
        return false;
    }

    /// <summary>
    /// Starts a read from Redis that may be kept: notes where the chat's announcements, the cache's
    /// drops and its reads stand. A chat not held yet gets no ticket: see <see cref="Listen"/>.
    /// </summary>
    public Ticket Begin(string chatId)
    {
        if (!Enabled || !_slots.TryGetValue(chatId, out var slot))
        {
            return default;
        }

        var epoch = Interlocked.Read(ref _epoch);
        lock (slot)
        {
            return new Ticket(slot, slot.Generation, epoch, slot.Subscribed, slot.Floor, ++slot.Reads, _timeProvider.GetTimestamp());
        }
    }

    /// <summary>
    /// Holds the chat from now on (a read found its window in Redis): subscribes to its change
    /// channel in the background, so that reads begun once that is confirmed may be kept.
    /// </summary>
    public void Listen(string chatId)
    {
        if (!Enabled || _cache.IsBypassed || _slots.ContainsKey(chatId))
        {
            return;
        }

        var slot = new Slot(chatId, this) { LastUsed = _timeProvider.GetTimestamp() };
        if (_slots.TryAdd(chatId, slot))
        {
            Interlocked.Increment(ref _count);
            _ = slot.SubscribeAsync();
            if (OverBudget)
            {
                Evict();
            }
        }
    }

    /// <summary>
    /// Offers a head read from Redis under <paramref name="ticket"/>: kept when nothing may have
    /// changed since the read began. False when the head is older than one this replica had already
    /// kept when the read began (a window that went back in time: do not serve it).
    /// </summary>
    public bool Accept(Ticket ticket, WindowHead head)
    {
        if (ticket.Slot is not { } slot)
        {
            return true;
        }

        var bytes = head.Turns.Bytes.Length;
        lock (slot)
        {
            // Only against what was kept before this read began: a read that raced a change may
            // well come back older than one that began later.
            if (head.LastSeq < ticket.Floor)
            {
                CacheMetrics.NearRegression();
                return false;
            }

            var current = ticket.Subscribed
                && slot.Generation == ticket.Generation
                && Interlocked.Read(ref _epoch) == ticket.Epoch
                && (slot.Kept is null || slot.Kept.Read < ticket.Read)
                && head.LastSeq >= slot.Floor
                && _slots.TryGetValue(slot.ChatId, out var live) && live == slot;
            slot.Floor = Math.Max(slot.Floor, head.LastSeq);
            if (!current)
            {
                return true;
            }

            var previous = slot.Kept?.Bytes ?? 0;
            slot.Kept = new Copy(head, bytes, ticket.Read, ticket.Began);
            slot.LastUsed = _timeProvider.GetTimestamp();
            Interlocked.Add(ref _bytes, bytes - previous);
        }

        if (OverBudget)
        {
            Evict();
        }

        return true;
    }

    /// <summary>The chat's window changed (announced, or applied by this replica): drop its copy, and make reads begun before now unkeepable.</summary>
    public void Changed(string chatId)
    {
        if (_slots.TryGetValue(chatId, out var slot))
        {
            lock (slot)
            {
                slot.Generation++;
                Release(slot);
            }

            CacheMetrics.NearInvalidated();
        }
    }

    /// <summary>Drops every copy and subscription: an announcement may have been missed.</summary>
    public void Clear(string reason)
    {
        Interlocked.Increment(ref _epoch);
        var dropped = 0;
        foreach (var slot in _slots.Values)
        {
            Remove(slot);
            dropped++;
        }

        CacheMetrics.NearCleared(reason);
        if (dropped > 0)
        {
            Log.Cleared(_logger, dropped, reason);
        }
    }

    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
        _redis.ConfigurationChanged -= OnConfigurationChanged;
        _redis.HashSlotMoved -= OnHashSlotMoved;
        _cache.BreakerOpened -= OnBreakerOpened;
    }

    /// <summary>The copies' bytes and every slot's bookkeeping together, against the budget.</summary>
    private bool OverBudget => Interlocked.Read(ref _bytes) + (long)Count * SlotOverhead > _maxBytes;

    /// <summary>Drops the least recently used chats until the copies use at most 90% of the budget.</summary>
    private void Evict()
    {
        if (!_evicting.TryEnter())
        {
            return;
        }

        try
        {
            var target = _maxBytes * 9 / 10;
            foreach (var slot in _slots.Values.OrderBy(s => s.LastUsed))
            {
                if (Interlocked.Read(ref _bytes) + (long)Count * SlotOverhead <= target)
                {
                    break;
                }

                Remove(slot);
                CacheMetrics.NearEvicted();
            }
        }
        finally
        {
            _evicting.Exit();
        }
    }

    private void Remove(Slot slot)
    {
        lock (slot)
        {
            slot.Generation++;
            Release(slot);
        }

        // Leaves the channel first, so a slot made for the chat meanwhile subscribes after it.
        slot.Unlisten();
        if (_slots.TryRemove(new KeyValuePair<string, Slot>(slot.ChatId, slot)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>Drops the slot's copy, if any. Called under the slot's lock.</summary>
    private void Release(Slot slot)
    {
        if (slot.Kept is { } copy)
        {
            slot.Kept = null;
            Interlocked.Add(ref _bytes, -copy.Bytes);
        }
    }

    // Raised on the client's own threads: the drop runs on the thread pool, never inline.
    private void ClearSoon(string reason) => ThreadPool.UnsafeQueueUserWorkItem(static state => state.Cache.Clear(state.Reason), (Cache: this, Reason: reason), preferLocal: false);

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => ClearSoon("connection_failed");

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => ClearSoon("connection_restored");

    private void OnConfigurationChanged(object? sender, EndPointEventArgs e) => ClearSoon("configuration_changed");

    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e) => ClearSoon("hash_slot_moved");

    private void OnBreakerOpened() => ClearSoon("breaker_opened");

    /// <summary>Where a chat's announcements, the cache's drops and its reads stood when a read began.</summary>
    internal readonly record struct Ticket(Slot? Slot, int Generation, long Epoch, bool Subscribed, long Floor, long Read, long Began);

    internal sealed record Copy(WindowHead Head, int Bytes, long Read, long ReadAt);

    /// <summary>One chat: its copy, its subscription, its reads, and the highest last sequence number kept.</summary>
    internal sealed class Slot
    {
        public readonly string ChatId;
        public int Generation;
        public long Reads;
        public long LastUsed;
        public long Floor;
        public Copy? Kept;
        public bool Subscribed;
        private readonly NearCache _cache;
        private readonly Action<RedisChannel, RedisValue> _handler;
        private bool _removed;
        private bool _registered;

        public Slot(string chatId, NearCache cache)
        {
            ChatId = chatId;
            _cache = cache;
            _handler = (_, _) => cache.Changed(chatId);
        }

        private RedisChannel Channel => HistoryCache.ChangedChannel(ChatId);

        /// <summary>Subscribes, after any unsubscribe of an earlier slot of the chat; reads begun once it is confirmed may be kept.</summary>
        public async Task SubscribeAsync()
        {
            try
            {
                if (_cache._leaving.TryGetValue(ChatId, out var leaving))
                {
                    await leaving;
                }

                lock (this)
                {
                    if (_removed)
                    {
                        return;
                    }

                    _registered = true;
                }

                await _cache._subscriber.SubscribeAsync(Channel, _handler);
                lock (this)
                {
                    Subscribed = !_removed;
                }
            }
            catch (Exception)
            {
                // Not listening: the chat's reads are served but never kept; the slot goes, so a
                // later hit tries again.
                _cache.Remove(this);
            }
        }

        /// <summary>Leaves the channel (once): the handler comes off whether or not the subscribe succeeded.</summary>
        public void Unlisten()
        {
            bool registered;
            lock (this)
            {
                if (_removed)
                {
                    return;
                }

                _removed = true;
                Subscribed = false;
                registered = _registered;
            }

            if (registered)
            {
                var leaving = UnsubscribeAsync();
                _cache._leaving[ChatId] = leaving;
                _ = ForgetAsync(leaving);
            }
        }

        private async Task ForgetAsync(Task leaving)
        {
            await leaving;
            _cache._leaving.TryRemove(new KeyValuePair<string, Task>(ChatId, leaving));
        }

        private async Task UnsubscribeAsync()
        {
            try
            {
                await _cache._subscriber.UnsubscribeAsync(Channel, _handler);
            }
            catch (Exception)
            {
                // Gone with the connection.
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4010, LogLevel.Information, "Near cache dropped {Chats} chats ({Reason}).")]
        public static partial void Cleared(ILogger logger, int chats, string reason);
    }
}
