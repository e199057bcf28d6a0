using System.Collections.Concurrent;
using ChatService.Chats;
using Microsoft.Extensions.Caching.Memory;

namespace ChatService.Cache;

/// <summary>
/// Look-aside history cache in front of the Spanner store. Reads of a chat's newest turns (the
/// first history page, the prompt window) come from the chat's cached window; a miss loads it
/// from Spanner once per chat however many readers wait (single flight) and caches it. Every
/// committed change is applied to the cached window before the caller hears of it, so a client
/// never reads its own write back as missing. When Redis is slow or down, reads go to Spanner
/// with bounded concurrency. Characters never change, so they are kept in process memory.
/// </summary>
internal sealed class CachedChatStore(IChatStore chats, IReplyStore replies, HistoryCache cache, IMemoryCache characters, RedisCacheLimits limits)
    : IChatStore, IReplyStore
{
    private static readonly MemoryCacheEntryOptions CharacterEntry = new() { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) };

    /// <summary>Turns read beyond a prompt's window, for replies a few turns below the newest (group chats).</summary>
    private const int PromptSlack = 4;

    /// <summary>How long a read waits for a Spanner fallback permit before it is shed.</summary>
    private static readonly TimeSpan FallbackWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Lazy<Task<ChatWindow?>>> _loads = new();

    // ---- Reads served from the window ---------------------------------------------------------

    public async Task<IReadOnlyList<ChatTurn>?> GetTurnsAsync(string userId, string chatId, long beforeSeq, int limit, CancellationToken cancellationToken)
    {
        if (beforeSeq != long.MaxValue || limit > cache.WindowTurns)
        {
            return await chats.GetTurnsAsync(userId, chatId, beforeSeq, limit, cancellationToken);
        }

        var window = await GetWindowAsync(chatId, limit, cancellationToken);
        if (window is null || window.UserId != userId)
        {
            return null;
        }

        // The window holds the newest turns contiguously; it answers unless the page reaches past it.
        var complete = window.NewestFirst.Count >= limit || window.NewestFirst.Count == window.LastSeq;
        return complete
            ? window.NewestFirst.Take(limit).ToList()
            : await chats.GetTurnsAsync(userId, chatId, beforeSeq, limit, cancellationToken);
    }

    public async Task<ReplyContext?> LoadReplyContextAsync(ReplyKey key, int windowTurns, CancellationToken cancellationToken)
    {
        // The reply is almost always among the newest few turns; the prompt needs the ones before it.
        var window = await GetWindowAsync(key.ChatId, windowTurns + PromptSlack, cancellationToken);
        var reply = window?.NewestFirst.FirstOrDefault(t => t.Seq == key.Seq);
        if (window is null || reply is null || reply.CandidateId != key.CandidateId || reply.CharacterId is null)
        {
            // Not in the window (a deep turn, or a candidate that is not the primary one): ask Spanner.
            return await replies.LoadReplyContextAsync(key, windowTurns, cancellationToken);
        }

        var cast = (await GetCharactersAsync(window.CharacterIds, cancellationToken)).ToDictionary(c => c.Id);
        if (!cast.TryGetValue(reply.CharacterId, out var speaker))
        {
            return await replies.LoadReplyContextAsync(key, windowTurns, cancellationToken);
        }

        var before = window.NewestFirst.Where(t => t.Seq < key.Seq).Take(windowTurns).Reverse().ToList();
        if (before.Count < windowTurns && before.Count < key.Seq - 1)
        {
            // A deep turn (e.g. regenerating an old reply): the window holds too little before it.
            return await replies.LoadReplyContextAsync(key, windowTurns, cancellationToken);
        }

        return new ReplyContext(window.UserId, speaker, cast, before, OwedHere: reply.State == ReplyState.Pending);
    }

    public async Task<IReadOnlyList<Character>> GetCharactersAsync(IReadOnlyCollection<string> ids, CancellationToken cancellationToken)
    {
        var found = new List<Character>(ids.Count);
        var missing = new List<string>();
        foreach (var id in ids)
        {
            if (characters.TryGetValue(id, out Character? character))
            {
                found.Add(character!);
            }
            else
            {
                missing.Add(id);
            }
        }

        if (missing.Count > 0)
        {
            foreach (var character in await chats.GetCharactersAsync(missing, cancellationToken))
            {
                characters.Set(character.Id, character, CharacterEntry);
                found.Add(character);
            }
        }

        return found;
    }

    public async Task<Character?> GetCharacterAsync(string id, CancellationToken cancellationToken) =>
        (await GetCharactersAsync([id], cancellationToken)).FirstOrDefault();

    /// <summary>The chat's window: cached, or loaded once from Spanner (and cached when Redis is usable).</summary>
    private async Task<ChatWindow?> GetWindowAsync(string chatId, int maxTurns, CancellationToken cancellationToken)
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
            window = await chats.LoadWindowAsync(chatId, cache.WindowTurns, timeout.Token);
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

    // ---- Writes: commit in Spanner, then bring the cached window along --------------------------

    public Task<SendReceipt> RecordSendAsync(SendCommand command, CancellationToken cancellationToken) =>
        WriteAsync(command.ChatId, () => chats.RecordSendAsync(command, cancellationToken), r => [r.UserTurn, .. r.PendingReplies]);

    public Task<SettledReply?> SettleReplyAsync(ReplyOutcome outcome, CancellationToken cancellationToken) =>
        WriteAsync(outcome.Key.ChatId, () => replies.SettleReplyAsync(outcome, cancellationToken), settled =>
        {
            if (settled is null)
            {
                // Not ours to settle: someone else did, or an earlier attempt of ours committed
                // without our hearing of it. Either way the window may lag; drop it.
                cache.MarkDirty(outcome.Key.ChatId);
            }

            return Displayed(settled);
        });

    public Task<SettledReply?> CancelOwedReplyAsync(string userId, ReplyKey key, CancellationToken cancellationToken) =>
        WriteAsync(key.ChatId, () => replies.CancelOwedReplyAsync(userId, key, cancellationToken), Displayed);

    public async Task<ClaimResult> ClaimExpiredAsync(int limit, CancellationToken cancellationToken)
    {
        var result = await replies.ClaimExpiredAsync(limit, cancellationToken);
        foreach (var settled in result.Settled)
        {
            await cache.ApplyAsync(settled.Reply.ChatId, Displayed(settled));
        }

        return result;
    }

    public Task<OwedReplies> AddCandidateAsync(string userId, string chatId, long seq, string requestId, CancellationToken cancellationToken) =>
        WriteAsync(chatId, () => replies.AddCandidateAsync(userId, chatId, seq, requestId, cancellationToken), o => o.Replies);

    public Task<ChatTurn> SelectCandidateAsync(string userId, string chatId, long seq, string candidateId, CancellationToken cancellationToken) =>
        WriteAsync(chatId, () => replies.SelectCandidateAsync(userId, chatId, seq, candidateId, cancellationToken), t => [t]);

    public Task<OwedReplies> RecordContinuationAsync(string userId, string chatId, int turns, string requestId, CancellationToken cancellationToken) =>
        WriteAsync(chatId, () => replies.RecordContinuationAsync(userId, chatId, turns, requestId, cancellationToken), o => o.Replies);

    public async Task<bool> DeleteChatAsync(string userId, string chatId, CancellationToken cancellationToken)
    {
        var deleted = await WriteAsync(chatId, () => chats.DeleteChatAsync(userId, chatId, cancellationToken), _ => []);
        if (deleted)
        {
            await cache.TombstoneAsync(chatId);
        }

        return deleted;
    }

    /// <summary>
    /// Runs a write against Spanner, then applies the turns as committed to the cached window.
    /// Results of repeated requests are applied too: the apply is version-guarded, and the first
    /// request may have committed without its apply. A failure whose commit outcome is unknown
    /// marks the chat dirty. A window load begun before the write is not handed to later readers.
    /// </summary>
    private async Task<T> WriteAsync<T>(string chatId, Func<Task<T>> write, Func<T, IReadOnlyList<ChatTurn>> changed)
    {
        T result;
        try
        {
            result = await write();
        }
        catch (Exception ex) when (ex is not ChatException)
        {
            cache.MarkDirty(chatId);
            throw;
        }
        finally
        {
            _loads.TryRemove(chatId, out _);
        }

        var turns = changed(result);
        if (turns.Count > 0)
        {
            await cache.ApplyAsync(chatId, turns);
        }

        return result;
    }

    /// <summary>A settled candidate changes what history shows only if it is its turn's primary one.</summary>
    private static IReadOnlyList<ChatTurn> Displayed(SettledReply? settled) => settled is { IsPrimary: true } ? [settled.Reply] : [];

    // ---- Straight to Spanner ---------------------------------------------------------------------

    public Task<Character> InsertCharacterAsync(Character character, CancellationToken cancellationToken) =>
        chats.InsertCharacterAsync(character, cancellationToken);

    public Task<(Chat Chat, IReadOnlyList<ChatTurn> Greetings)> CreateChatAsync(
        string userId, string title, IReadOnlyList<Character> cast, CancellationToken cancellationToken) =>
        chats.CreateChatAsync(userId, title, cast, cancellationToken);

    public Task<Chat?> GetChatAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        chats.GetChatAsync(userId, chatId, cancellationToken);

    public Task<IReadOnlyList<Chat>> ListChatsAsync(
        string userId, (DateTimeOffset LastActiveTime, string ChatId)? after, int limit, CancellationToken cancellationToken) =>
        chats.ListChatsAsync(userId, after, limit, cancellationToken);

    public Task<ChatWindow?> LoadWindowAsync(string chatId, int turns, CancellationToken cancellationToken) =>
        chats.LoadWindowAsync(chatId, turns, cancellationToken);

    public Task<LeaseStatus> RenewLeaseAsync(ReplyKey key, CancellationToken cancellationToken) => replies.RenewLeaseAsync(key, cancellationToken);

    public Task ReleaseLeaseAsync(ReplyKey key, CancellationToken cancellationToken) => replies.ReleaseLeaseAsync(key, cancellationToken);

    public Task<ChatTurn?> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken) =>
        replies.GetReplyAsync(userId, chatId, seq, candidateId, cancellationToken);
}

/// <summary>Process-wide limits of the cache's Spanner fallback.</summary>
internal sealed class RedisCacheLimits(Microsoft.Extensions.Options.IOptions<RedisOptions> options)
{
    public SemaphoreSlim SpannerFallback { get; } = new(options.Value.FallbackConcurrency);
}
