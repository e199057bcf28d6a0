using System.Collections.Concurrent;
using ChatService.Chats;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// This replica's copies of hot window heads, in front of Redis. A head is kept only while this
/// replica listens to its chat's change channel, on which every script that changes the window
/// announces it; an announcement drops the copy. Copies are exact, not merely fresh-ish:
/// <list type="bullet">
/// <item>a copy is installed only from a read that began after the subscription was confirmed and
/// before any announcement or whole-cache drop since (a per-chat generation and a cache epoch), so
/// a read that raced a change can be returned to its caller but never kept;</item>
/// <item>everything is dropped when an announcement could have been missed: the connection failed
/// or came back, the cluster's layout changed, or the breaker opened;</item>
/// <item>a copy is served at most <see cref="RedisOptions.NearCacheMaxAge"/> after it was read, the
/// bound should an announcement ever be lost some other way;</item>
/// <item>a chat's last sequence number never goes back on this replica: a head older than the one
/// last kept is refused (<see cref="Accept"/> says so) and the window is reloaded.</item>
/// </list>
/// Memory is bounded by <see cref="RedisOptions.NearCacheBytes"/>; the least recently used chats go first.
/// </summary>
internal sealed partial class NearCache : IDisposable
{
    /// <summary>Bookkeeping per chat beyond its head's bytes: the slot, its subscription and the dictionary entry.</summary>
    private const int SlotOverhead = 512;

    private readonly ConcurrentDictionary<string, Slot> _slots = new();
    private readonly IConnectionMultiplexer _redis;
    private readonly ISubscriber _subscriber;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<NearCache> _logger;
    private readonly long _maxBytes;
    private readonly TimeSpan _maxAge;
    private readonly Lock _evicting = new();
    private long _bytes;
    private long _epoch;

    public NearCache(IConnectionMultiplexer redis, HistoryCache cache, IOptions<RedisOptions> options, TimeProvider timeProvider, ILogger<NearCache> logger)
    {
        _redis = redis;
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

    public int Count => _slots.Count;

    /// <summary>The chat's head, if a copy is kept and young enough.</summary>
    public bool TryGet(string chatId, out WindowHead head)
    {
        if (_slots.TryGetValue(chatId, out var slot) && slot.Kept is { } copy && Age(copy) < _maxAge)
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
    /// Starts a read from Redis that may be kept: makes sure this replica listens to the chat's
    /// changes, and notes where the chat's announcements and the cache's drops stand.
    /// </summary>
    public Ticket Begin(string chatId)
    {
        if (!Enabled)
        {
            return default;
        }

        var epoch = Interlocked.Read(ref _epoch);
        var slot = _slots.GetOrAdd(chatId, static (id, self) => self.NewSlot(id), this);
        if (!slot.Listening)
        {
            slot.Listen(this);
            if (OverBudget)
            {
                // Chats read once and never kept cost a slot and a subscription each: bounded too.
                Evict();
            }
        }

        lock (slot)
        {
            return new Ticket(slot, slot.Generation, epoch, slot.Subscribed, slot.Floor);
        }
    }

    /// <summary>
    /// Offers a head read from Redis under <paramref name="ticket"/>: kept when nothing may have
    /// changed since the read began. False when the head is older than one this replica has already
    /// kept (a window that went back in time: do not serve it).
    /// </summary>
    public bool Accept(Ticket ticket, WindowHead head, int bytes)
    {
        if (ticket.Slot is not { } slot)
        {
            return true;
        }

        lock (slot)
        {
            // Only against what was kept before this read began: a read that raced a change may
            // well come back older than one that began later.
            if (head.LastSeq < ticket.Floor)
            {
                CacheMetrics.NearRegression();
                return false;
            }

            slot.Floor = Math.Max(slot.Floor, head.LastSeq);
            var current = ticket.Subscribed
                && slot.Generation == ticket.Generation
                && Interlocked.Read(ref _epoch) == ticket.Epoch
                && _slots.TryGetValue(slot.ChatId, out var live) && live == slot;
            if (!current)
            {
                return true;
            }

            var previous = slot.Kept?.Bytes ?? 0;
            var kept = new Copy(head, bytes, _timeProvider.GetTimestamp());
            slot.Kept = kept;
            slot.LastUsed = kept.ReadAt;
            Interlocked.Add(ref _bytes, bytes - previous);
        }

        if (OverBudget)
        {
            Evict();
        }

        return true;
    }

    /// <summary>The chat's window changed: drop its copy, and make reads begun before now unkeepable.</summary>
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
    }

    private TimeSpan Age(Copy copy) => _timeProvider.GetElapsedTime(copy.ReadAt);

    /// <summary>The copies' bytes and every slot's bookkeeping together, against the budget.</summary>
    private bool OverBudget => Interlocked.Read(ref _bytes) + (long)_slots.Count * SlotOverhead > _maxBytes;

    private Slot NewSlot(string chatId) => new(chatId) { LastUsed = _timeProvider.GetTimestamp() };

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
                if (Interlocked.Read(ref _bytes) + (long)_slots.Count * SlotOverhead <= target)
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
            _slots.TryRemove(new KeyValuePair<string, Slot>(slot.ChatId, slot));
            slot.Unlisten(this);
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

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Clear("connection_failed");

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Clear("connection_restored");

    private void OnConfigurationChanged(object? sender, EndPointEventArgs e) => Clear("configuration_changed");

    private void OnHashSlotMoved(object? sender, HashSlotMovedEventArgs e) => Clear("hash_slot_moved");

    private void OnBreakerOpened() => Clear("breaker_opened");

    /// <summary>Where a chat's announcements and the cache's drops stood when a read began.</summary>
    internal readonly record struct Ticket(Slot? Slot, int Generation, long Epoch, bool Subscribed, long Floor);

    internal sealed record Copy(WindowHead Head, int Bytes, long ReadAt);

    /// <summary>One chat: its copy, its subscription, and the highest last sequence number kept.</summary>
    internal sealed class Slot(string chatId)
    {
        public readonly string ChatId = chatId;
        public int Generation;
        public long LastUsed;
        public long Floor;
        public Copy? Kept;
        public bool Listening;
        public volatile bool Subscribed;
        private bool _removed;
        private Action<RedisChannel, RedisValue>? _handler;

        /// <summary>Subscribes to the chat's change channel in the background; reads begun once it is confirmed may be kept.</summary>
        public void Listen(NearCache cache)
        {
            lock (this)
            {
                if (Listening || _removed)
                {
                    return;
                }

                Listening = true;
                _handler = (_, _) => cache.Changed(ChatId);
            }

            _ = SubscribeAsync(cache, _handler);
        }

        public void Unlisten(NearCache cache)
        {
            _removed = true;
            if (Subscribed && _handler is { } handler)
            {
                Subscribed = false;
                _ = UnsubscribeAsync(cache, handler);
            }
        }

        private async Task SubscribeAsync(NearCache cache, Action<RedisChannel, RedisValue> handler)
        {
            var channel = HistoryCache.ChangedChannel(ChatId);
            try
            {
                await cache._subscriber.SubscribeAsync(channel, handler);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                // Not listening: this chat's reads are served but not kept until it is tried again.
                lock (this)
                {
                    Listening = false;
                }

                return;
            }

            bool removed;
            lock (this)
            {
                removed = _removed;
                Subscribed = !removed;
            }

            if (removed)
            {
                await UnsubscribeAsync(cache, handler);
            }
        }

        private async Task UnsubscribeAsync(NearCache cache, Action<RedisChannel, RedisValue> handler)
        {
            try
            {
                await cache._subscriber.UnsubscribeAsync(HistoryCache.ChangedChannel(ChatId), handler);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
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
