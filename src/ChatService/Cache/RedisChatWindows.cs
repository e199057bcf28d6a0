using System.Collections.Concurrent;
using ChatService.Api;
using ChatService.Chats;
using ChatService.Storage;

namespace ChatService.Cache;

/// <summary>
/// The look-aside history cache, both ways. As <see cref="IChatWindows"/> it serves a chat's
/// newest turns (the first history page, a prompt's window) from the chat's cached window; a miss
/// loads it from Spanner once per chat however many readers wait (single flight) and caches it;
/// when Redis is slow or down, reads go to Spanner with bounded concurrency. As the stores'
/// <see cref="IChatChangeSink"/> it applies every committed change to the cached window before the
/// writer's caller hears of it, so a client never reads its own write back as missing.
/// </summary>
internal sealed class RedisChatWindows(HistoryCache cache, NearCache near, WindowLoader loader, RedisCacheLimits limits) : IChatWindows, IChatChangeSink
{
    /// <summary>How long a read waits for a Spanner fallback permit before it is shed.</summary>
    private static readonly TimeSpan FallbackWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Lazy<Task<ChatWindow?>>> _loads = new();

    public int MaxTurns => cache.WindowTurns;

    /// <summary>The chat's window: cached, or loaded once from Spanner (and cached when Redis is usable).</summary>
    public async Task<ChatWindow?> GetAsync(string chatId, int maxTurns, CancellationToken cancellationToken)
    {
        if (cache.IsDirty(chatId))
        {
            CacheMetrics.Fallback();
            return await LoadSharedAsync(chatId, populate: false, cancellationToken);
        }

        var read = await cache.ReadAsync(chatId, maxTurns);
        switch (read.Kind)
        {
            case CacheReadKind.Hit:
                CacheMetrics.Hit();
                return read.Window;
            case CacheReadKind.Deleted:
                CacheMetrics.Hit();
                return null;
            case CacheReadKind.Miss:
                CacheMetrics.Miss();
                return await LoadSharedAsync(chatId, populate: true, cancellationToken);
            default:
                CacheMetrics.Fallback();
                return await LoadSharedAsync(chatId, populate: false, cancellationToken);
        }
    }

    /// <summary>
    /// The chat's head: from this replica's near cache, else from Redis in one script call (and
    /// kept near when nothing changed meanwhile), else loaded like <see cref="GetAsync"/> and encoded.
    /// </summary>
    public async ValueTask<WindowHead?> GetHeadAsync(string chatId, int maxTurns, CancellationToken cancellationToken)
    {
        if (maxTurns > cache.HeadTurns)
        {
            return Head(await GetAsync(chatId, maxTurns, cancellationToken), maxTurns);
        }

        if (cache.IsDirty(chatId))
        {
            CacheMetrics.Fallback();
            return Head(await LoadSharedAsync(chatId, populate: false, cancellationToken), maxTurns);
        }

        if (near.Enabled && near.TryGet(chatId, out var kept))
        {
            return kept;
        }

        var ticket = near.Begin(chatId);
        var read = await cache.ReadHeadAsync(chatId);
        switch (read.Kind)
        {
            case CacheReadKind.Hit when near.Accept(ticket, read.Head!):
                CacheMetrics.Hit();
                if (ticket.Slot is null)
                {
                    // A chat found in Redis is worth listening to; one that is not may not even exist.
                    near.Listen(chatId);
                }

                return read.Head;
            case CacheReadKind.Hit:
                // Older than what this replica already served: never go back; reload the window.
                cache.MarkDirty(chatId);
                CacheMetrics.Fallback();
                return Head(await LoadSharedAsync(chatId, populate: false, cancellationToken), maxTurns);
            case CacheReadKind.Deleted:
                CacheMetrics.Hit();
                return null;
            case CacheReadKind.Miss:
                CacheMetrics.Miss();
                return Head(await LoadSharedAsync(chatId, populate: true, cancellationToken), maxTurns);
            default:
                CacheMetrics.Fallback();
                return Head(await LoadSharedAsync(chatId, populate: false, cancellationToken), maxTurns);
        }
    }

    private static WindowHead? Head(ChatWindow? window, int maxTurns) =>
        window?.Head(maxTurns);

    /// <summary>
    /// Brings the cached window along with a committed change. Repeats are applied too: the apply is
    /// version-guarded, and the first request may have committed without its apply. A change whose
    /// outcome is unknown marks the chat dirty. A window load begun before the change is not handed
    /// to later readers.
    /// </summary>
    public async Task ChangedAsync(ChatChange change)
    {
        _loads.TryRemove(change.ChatId, out _);
        switch (change.Kind)
        {
            case ChatChangeKind.Turns:
                await cache.ApplyAsync(change.ChatId, change.Turns, change.Intent);
                break;
            case ChatChangeKind.Chat:
                await cache.DropAsync(change.ChatId, change.Intent);
                break;
            case ChatChangeKind.Summary when change.Summary is { } summary:
                await cache.ApplySummaryAsync(change.ChatId, summary, change.Intent);
                break;
            case ChatChangeKind.Deleted:
                await cache.TombstoneAsync(change.ChatId);
                break;
            default:
                cache.MarkDirty(change.ChatId);
                break;
        }

        // This replica's own copy goes now, not when the announcement comes back: the writer's
        // caller may read again at once (and the announcement may never come, if the apply failed).
        near.Changed(change.ChatId);
    }

    public async Task<string?> IntendAsync(string chatId, string? renew = null) => await cache.IntendAsync(chatId, renew);

    public Task ReleaseAsync(string chatId, string intent) => cache.ReleaseAsync(chatId, intent);

    /// <summary>One Spanner load per chat at a time in this process; every concurrent reader shares it.</summary>
    private async Task<ChatWindow?> LoadSharedAsync(string chatId, bool populate, CancellationToken cancellationToken)
    {
        Lazy<Task<ChatWindow?>>? mine = null;
        mine = new Lazy<Task<ChatWindow?>>(() => LoadAndForgetAsync(chatId, populate, mine!));
        var load = _loads.GetOrAdd(chatId, mine);
        return await load.Value.WaitAsync(cancellationToken);
    }

    /// <summary>Loads, then leaves the single-flight table (if still in it) whether or not anyone is still waiting.</summary>
    private async Task<ChatWindow?> LoadAndForgetAsync(string chatId, bool populate, Lazy<Task<ChatWindow?>> self)
    {
        try
        {
            return await LoadAsync(chatId, populate);
        }
        finally
        {
            _loads.TryRemove(new KeyValuePair<string, Lazy<Task<ChatWindow?>>>(chatId, self));
        }
    }

    private async Task<ChatWindow?> LoadAsync(string chatId, bool populate)
    {
        // Shared by every waiting reader, so not bound to any one caller's cancellation.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        if (populate && await cache.ReadAsync(chatId, cache.WindowTurns) is { Kind: CacheReadKind.Hit or CacheReadKind.Deleted } cached)
        {
            // A load that finished just before this one began (between our miss and now) filled it.
            return cached.Window;
        }

        var token = populate ? await cache.BeginFillAsync(chatId) : null;
        if (!await limits.SpannerFallback.WaitAsync(FallbackWait, timeout.Token))
        {
            // Too many reads are already falling back to Spanner: shed this one rather than pile up.
            throw new ChatException(ChatErrorKind.Unavailable, "history is temporarily unavailable (cache down and Spanner fallback saturated); retry shortly");
        }

        ChatWindow? window;
        try
        {
            CacheMetrics.SpannerRead();
            window = await loader.LoadAsync(chatId, cache.WindowTurns, timeout.Token);
        }
        finally
        {
            limits.SpannerFallback.Release();
        }

        if (window is not null && token is not null)
        {
            await cache.PopulateAsync(window, token);
        }

        return window;
    }
}
