using ChatService.Cache;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Memory;

/// <summary>A held summary lease: whose it is, and the span it was taken for.</summary>
internal sealed record SummaryLease(string ChatId, long ThroughSeq, string Value, bool InRedis);

/// <summary>What a released lease does with its span's attempt count.</summary>
internal enum SummaryAttempts
{
    /// <summary>The run counts (the model call failed, or the job threw).</summary>
    Keep,

    /// <summary>The job is done (stored, covered, or lost to another version): the count goes.</summary>
    Forget,

    /// <summary>Nothing was attempted (the retry delay was not over, or the store gave up): the run does not count.</summary>
    Undo,
}

/// <summary>What an attempt to take a chat's summary lease came to.</summary>
internal enum SummaryLeaseRefusal
{
    /// <summary>Another runner holds the lease.</summary>
    Held,

    /// <summary>The span was attempted <see cref="SummaryOptions.MaxAttempts"/> times (crashes included): it is left.</summary>
    Exhausted,

    /// <summary>Redis did not answer in time: the lease may or may not have been set, so the run is skipped.</summary>
    Unknown,

    /// <summary>
    /// A summary through the span was stored after the window that triggered the job was read (a trigger
    /// that raced the store): the job is moot, and is skipped without touching Spanner.
    /// </summary>
    Stored,
}

/// <summary>
/// Who may call the model for a chat's summary now: a lease in Redis (<c>SET … NX PX</c> on the chat's
/// own key) rather than a claim row in Spanner, so a summary costs Spanner one commit (the store) and a
/// reply's trigger that finds a job under way costs it nothing. The lease only saves model calls: that
/// no span is summarized twice is the store's conditional commit's job, which holds without any lease.
/// <list type="bullet">
/// <item>Each held lease is also listed, scored by its expiry, in one of <see cref="SummaryOptions.LeaseShards"/>
/// sorted sets (<c>summary:leases:{k}</c>, k from a stable hash of the chat id), so that the sweep finds
/// the leases of replicas that died mid-job (SIGKILL) in Redis, without reading Spanner, and no one key
/// (nor slot) carries every chat's jobs.</item>
/// <item>Beside the lease, the chat's hash <c>chat:{id}:summary:n</c> counts the attempts at each span and
/// keeps the last summary stored (version and through-seq): a trigger whose window was read before that
/// store landed is refused there, in the round trip the lease takes anyway, instead of reading Spanner to
/// find its span covered.</item>
/// <item>A replica that dies leaves its lease until it expires (<see cref="SummaryOptions.Lease"/>); then
/// the next trigger of the chat or any replica's sweep takes the job up.</item>
/// <item>Without Redis (not configured, unreachable, or its breaker open) every attempt gets a lease of
/// its own: replicas may then both call the model, and one of them stores.</item>
/// </list>
/// </summary>
internal sealed partial class SummaryLeases
{
    /// <summary>The prefix of the sorted sets of held leases (members <c>chatId|throughSeq</c>, scored by expiry in Unix ms).</summary>
    internal const string LeaseSetPrefix = "summary:leases:";

    /// <summary>
    /// The one sorted set a release before the sharding listed every held lease in (same members and scores).
    /// The sweep drains it alongside the shards: entries that replicas of that release listed before or during
    /// an upgrade, and that no one gave back, would otherwise never be swept. Once empty it does not exist,
    /// and a sweep that finds it absent stops this process reading it (<see cref="_legacyDrained"/>).
    /// </summary>
    internal const string LegacyListKey = "summary:leases";

    // In the chat's hash KEYS[2] (same slot as the lease KEYS[1]): field <span end> counts the attempts at
    // that span, 'p<span end>' is when a span attempted ARGV[4] times may start afresh (Unix ms), 'sv'/'st'
    // the version and through-seq of the last summary stored. In one step, so a runner that crashes mid-job
    // still used up an attempt:
    //  -2: a summary stored as a version newer than the trigger's window knew (ARGV[6]) ends fewer than
    //      ARGV[9] (Summary:EveryTurns) turns before the span's end (ARGV[3]), so nothing is due any more, as
    //      the store's own check would find (a window read after a rewind that discarded it knows its version);
    //  -1: the span was attempted ARGV[4] times and its pause (ARGV[8] ms from the first refusal) is not
    //      over; once it is, the count starts afresh;
    //   0: held by another; else the attempt's number.
    // A held lease answers 0 before the attempts are looked at: while the last permitted attempt runs, a
    // concurrent trigger must not find the span exhausted (it would start the pause early and take the
    // running job's entry off the sweep's list). The hash always keeps a TTL (one without, recreated by a
    // release after an eviction, gets ARGV[5]), so a stale 'sv' heals.
    private const string AcquireScript =
        """
        local sv = tonumber(redis.call('HGET', KEYS[2], 'sv') or '0')
        if sv > tonumber(ARGV[6]) and tonumber(ARGV[3]) - tonumber(redis.call('HGET', KEYS[2], 'st') or '0') < tonumber(ARGV[9]) then
          if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
          return -2
        end
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local n = tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0')
        if n >= tonumber(ARGV[4]) then
          local pause = 'p' .. ARGV[3]
          local rested = tonumber(redis.call('HGET', KEYS[2], pause) or '0')
          if rested == 0 then
            redis.call('HSET', KEYS[2], pause, tonumber(ARGV[7]) + tonumber(ARGV[8]))
            if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[8]) then redis.call('PEXPIRE', KEYS[2], ARGV[8]) end
            return -1
          end
          if tonumber(ARGV[7]) < rested then return -1 end
          redis.call('HDEL', KEYS[2], ARGV[3], pause)
        end
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
        n = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
        if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
        return n
        """;

    // Deletes the lease only while it is still the one this runner took (an expired one may be another's
    // now). The span's attempt count: ARGV[3] = 'forget' (the job is done) removes it, 'undo' (nothing was
    // attempted: the store found the retry delay not over) takes this run's back, 'keep' leaves it. A stored
    // summary (ARGV[4] its version, ARGV[5] its through-seq; 0 for none) is kept as the chat's last, unless a
    // newer one is there already. The hash gets a TTL (ARGV[6] ms) when it has none: the HSET or HINCRBY
    // here recreate it without one if it was evicted or expired during the job. 1 when it deleted the lease.
    private const string ReleaseScript =
        """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        if ARGV[3] == 'forget' then redis.call('HDEL', KEYS[2], ARGV[2], 'p' .. ARGV[2])
        elseif ARGV[3] == 'undo' then redis.call('HINCRBY', KEYS[2], ARGV[2], -1) end
        if tonumber(ARGV[4]) > tonumber(redis.call('HGET', KEYS[2], 'sv') or '0') then
          redis.call('HSET', KEYS[2], 'sv', ARGV[4], 'st', ARGV[5])
        end
        if redis.call('PTTL', KEYS[2]) == -1 then redis.call('PEXPIRE', KEYS[2], ARGV[6]) end
        return 1
        """;

    private readonly IConnectionMultiplexer? _redis;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CircuitBreaker? _breaker;
    private readonly int _shards;
    private readonly TimeSpan _hashKept;
    private int _sweepStart;

    // Set once a sweep of this process found LegacyListKey absent (drained, or never written): later sweeps
    // read only the shards, so the key of the release before is not read forever. Per process, not shared:
    // each replica stops after its own first sweep that finds it gone. Releases since the sharding never
    // write it; a replica of the release before that is still running after this one saw it absent (a
    // rolling upgrade's tail) and then dies holding a lease leaves an entry no sweep here reads: its chat's
    // next trigger takes the job again once that lease's key expires, as after any lost listing.
    private volatile bool _legacyDrained;

    public SummaryLeases(IServiceProvider services, TimeProvider timeProvider, ILogger<SummaryLeases> logger)
    {
        var summary = services.GetRequiredService<IOptions<SummaryOptions>>().Value;
        _shards = summary.LeaseShards;
        _hashKept = summary.AttemptsKept;
        var options = services.GetRequiredService<IOptions<RedisOptions>>().Value;
        _redis = options.Enabled ? services.GetService<IConnectionMultiplexer>() : null;
        _timeout = options.OperationTimeout;
        _timeProvider = timeProvider;
        _logger = logger;
        _breaker = _redis is null ? null : new CircuitBreaker(options.BreakerFailureThreshold, options.BreakerOpenDuration, timeProvider);
    }

    internal static RedisKey LeaseKey(string chatId) => $"chat:{{{chatId}}}:summary";

    /// <summary>The chat's attempt counts (a hash: span end to attempts), beside the lease in the same slot; it expires on its own.</summary>
    internal static RedisKey AttemptsKey(string chatId) => $"chat:{{{chatId}}}:summary:n";

    private static string Member(string chatId, long throughSeq) => $"{chatId}|{throughSeq}";

    /// <summary>The sorted set that lists the chat's jobs: shard <see cref="ShardOf"/> of <paramref name="shards"/>.</summary>
    internal static RedisKey ListKey(string chatId, int shards) => ListKeyOf(ShardOf(chatId, shards));

    /// <summary>The chat's listing key on this replica's <see cref="SummaryOptions.LeaseShards"/>.</summary>
    internal RedisKey ListKey(string chatId) => ListKey(chatId, _shards);

    /// <summary>Shard <paramref name="shard"/>'s sorted set; the shard number is its hash tag, so the shards spread over the cluster's slots.</summary>
    internal static RedisKey ListKeyOf(int shard) => $"{LeaseSetPrefix}{{{shard.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}";

    /// <summary>
    /// The shard of <paramref name="chatId"/>: FNV-1a of its UTF-8 bytes modulo <paramref name="shards"/>, the
    /// same on every replica and across restarts (unlike <see cref="string.GetHashCode()"/>).
    /// </summary>
    internal static int ShardOf(string chatId, int shards)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(chatId))
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return (int)(hash % (uint)shards);
    }

    /// <summary>
    /// Takes the chat's lease for <paramref name="duration"/> and counts the attempt at the span; the refusal
    /// when another runner holds it, the span was attempted <paramref name="maxAttempts"/> times less than
    /// <paramref name="pause"/> ago, a summary stored after the trigger's window was read leaves fewer than
    /// <paramref name="everyTurns"/> turns of the span due (the window's <paramref name="knownGeneration"/>, <see cref="Chats.ChatMemory.SummaryGeneration"/>; <see cref="long.MaxValue"/>
    /// for a job that no window triggered), or Redis timed out (the lease may have been set: the run is
    /// skipped, the sweep or the next trigger retries). With Redis unusable (not configured, breaker open,
    /// connection failed), a lease that guards nothing.
    /// </summary>
    public async Task<(SummaryLease? Lease, SummaryLeaseRefusal Refusal)> TryAcquireAsync(
        string chatId, long throughSeq, string replica, TimeSpan duration, int maxAttempts, TimeSpan attemptsKept, TimeSpan pause,
        long knownGeneration = long.MaxValue, int everyTurns = 1)
    {
        var value = $"{replica}|{throughSeq}|{Guid.NewGuid():N}";
        if (_redis is null || _breaker is null || !_breaker.TryEnter())
        {
            return (new SummaryLease(chatId, throughSeq, value, InRedis: false), default);
        }

        var database = _redis.GetDatabase();
        long attempt;
        try
        {
            var result = await database.ScriptEvaluateAsync(
                    AcquireScript,
                    [LeaseKey(chatId), AttemptsKey(chatId)],
                    [value, (long)duration.TotalMilliseconds, throughSeq, maxAttempts, (long)attemptsKept.TotalMilliseconds,
                        knownGeneration, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), (long)pause.TotalMilliseconds, everyTurns])
                .WaitAsync(_timeout, _timeProvider);
            attempt = (long)result;
            _breaker.Success();
        }
        catch (Exception ex) when (ex is TimeoutException or RedisTimeoutException)
        {
            _breaker.Failure();
            Log.AcquireTimedOut(_logger, chatId, ex.GetType().Name, ex.Message);
            return (null, SummaryLeaseRefusal.Unknown);
        }
        catch (Exception ex)
        {
            _breaker.Failure();
            Log.Unavailable(_logger, chatId, ex.GetType().Name, ex.Message);
            return (new SummaryLease(chatId, throughSeq, value, InRedis: false), default);
        }

        if (attempt == 0)
        {
            return (null, SummaryLeaseRefusal.Held);
        }

        if (attempt == -2)
        {
            return (null, SummaryLeaseRefusal.Stored);
        }

        if (attempt < 0)
        {
            // Left for its pause: the sweep stops listing it (the chat's next trigger after the pause, or for a longer span, tries again).
            await TryListAsync(database, chatId, throughSeq, remove: true, at: default);
            return (null, SummaryLeaseRefusal.Exhausted);
        }

        // Listed after it is taken: a runner that dies in between leaves a lease nobody sweeps, and the
        // chat's next trigger takes the job up once it expires. A failed listing is not a failed lease.
        await TryListAsync(database, chatId, throughSeq, remove: false, at: _timeProvider.GetUtcNow() + duration);
        return (new SummaryLease(chatId, throughSeq, value, InRedis: true), default);
    }

    /// <summary>
    /// Gives the lease back, with the span's attempt count as <paramref name="attempts"/> says. A job that ended (<paramref name="retryAfter"/> null) is taken off the sweep's list; a job that threw (storage error, unknown commit outcome, shutdown) stays listed, due again after
    /// <paramref name="retryAfter"/>, so the sweep retries it. The list is touched only when the lease deleted
    /// was this runner's: an expired lease taken by another runner is that runner's to list. A failure leaves
    /// the lease to expire and the entry to the sweep.
    /// </summary>
    public async Task ReleaseAsync(SummaryLease lease, TimeSpan? retryAfter, SummaryAttempts attempts, Chats.ChatSummary? stored = null)
    {
        if (!lease.InRedis || _redis is null)
        {
            return;
        }

        var database = _redis.GetDatabase();
        try
        {
            var deleted = (long)await database.ScriptEvaluateAsync(
                    ReleaseScript,
                    [LeaseKey(lease.ChatId), AttemptsKey(lease.ChatId)],
                    [lease.Value, lease.ThroughSeq, attempts switch { SummaryAttempts.Forget => "forget", SummaryAttempts.Undo => "undo", _ => "keep" },
                        stored?.Version ?? 0, stored?.ThroughSeq ?? 0, (long)_hashKept.TotalMilliseconds])
                .WaitAsync(_timeout, _timeProvider);
            if (deleted == 0)
            {
                return;
            }
        }
        catch (Exception ex)
        {
            Log.ReleaseFailed(_logger, lease.ChatId, ex.GetType().Name, ex.Message);
            return;
        }

        // The listing shard is in another slot than the chat's keys: updated after the script, only if it deleted ours.
        await TryListAsync(database, lease.ChatId, lease.ThroughSeq, remove: retryAfter is null, at: _timeProvider.GetUtcNow() + (retryAfter ?? TimeSpan.Zero));
    }

    /// <summary>Lists a job for the sweep again, due at <paramref name="at"/> (a swept job that could not be queued).</summary>
    public async Task RelistAsync(string chatId, long throughSeq, DateTimeOffset at)
    {
        if (_redis is not null)
        {
            await TryListAsync(_redis.GetDatabase(), chatId, throughSeq, remove: false, at);
        }
    }

    // Adds (scored by when it is due) or removes a job's entry in the chat's shard. Its failure does not count
    // against the breaker: a shard is one key, and the leases of every chat must not stop because it is slow.
    private async Task TryListAsync(IDatabase database, string chatId, long throughSeq, bool remove, DateTimeOffset at)
    {
        try
        {
            var member = Member(chatId, throughSeq);
            await (remove
                    ? database.SortedSetRemoveAsync(ListKey(chatId), member)
                    : database.SortedSetAddAsync(ListKey(chatId), member, at.ToUnixTimeMilliseconds()))
                .WaitAsync(_timeout, _timeProvider);
        }
        catch (Exception ex)
        {
            Log.ListFailed(_logger, chatId, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>
    /// Jobs whose lease expired without being given back (their replica died), at most <paramref name="limit"/>,
    /// taken off their shard's list: whoever runs one takes a new lease. Every shard is looked at (their
    /// range reads pipelined, in one round trip), starting one further each sweep so that a full batch
    /// does not always favour the same shards, and so is the unsharded list of the release before
    /// (<see cref="LegacyListKey"/>), whose expired entries are taken as the shards' are until it is empty.
    /// Empty without Redis. Costs Spanner nothing.
    /// </summary>
    public async Task<IReadOnlyList<(string ChatId, long ThroughSeq)>> ExpiredAsync(int limit)
    {
        if (_redis is null || _breaker is null || !_breaker.TryEnter())
        {
            return [];
        }

        try
        {
            var database = _redis.GetDatabase();
            var now = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var start = (int)((uint)Interlocked.Increment(ref _sweepStart) % (uint)_shards);
            // The legacy list first (until a sweep found it absent), so that a full batch from the shards never
            // keeps it from draining; its length read alongside tells when it is gone.
            var readLegacy = !_legacyDrained;
            var shardKeys = Enumerable.Range(0, _shards).Select(i => ListKeyOf((start + i) % _shards));
            var shards = (readLegacy ? shardKeys.Prepend(LegacyListKey) : shardKeys).ToList();
            var legacyLength = readLegacy ? database.SortedSetLengthAsync(LegacyListKey).WaitAsync(_timeout, _timeProvider) : null;
            // Each shard on its own: a shard whose node is failing over is skipped this round, and only a sweep
            // that reached no shard at all counts against the breaker (which also gates the leases themselves).
            var reads = shards.Select(key => database.SortedSetRangeByScoreAsync(key, double.NegativeInfinity, now, take: limit)
                .WaitAsync(_timeout, _timeProvider)).ToList();
            List<Task> all = legacyLength is null ? [.. reads] : [.. reads, legacyLength];
            try
            {
                await Task.WhenAll(all);
            }
            catch (Exception) when (reads.Any(r => r.IsCompletedSuccessfully))
            {
                // Some shards answered: their jobs are swept below; the others wait for the next sweep.
                var first = all.First(r => !r.IsCompletedSuccessfully);
                Log.Unavailable(_logger, "(sweep of some shards)", first.Exception?.InnerException?.GetType().Name ?? "Canceled", first.Exception?.InnerException?.Message ?? "");
            }

            if (legacyLength is { IsCompletedSuccessfully: true, Result: 0 })
            {
                _legacyDrained = true;
            }

            var jobs = new List<(string, long)>();
            for (var s = 0; s < shards.Count && jobs.Count < limit; s++)
            {
                if (!reads[s].IsCompletedSuccessfully)
                {
                    continue;
                }

                foreach (var member in reads[s].Result)
                {
                    if (jobs.Count >= limit)
                    {
                        break;
                    }

                    // Only the sweep that removes a member runs its job; the others skip it.
                    bool removed;
                    try
                    {
                        removed = await database.SortedSetRemoveAsync(shards[s], member).WaitAsync(_timeout, _timeProvider);
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        // This shard's node stopped answering: the member stays listed for a later sweep, unless the
                        // remove was applied after all (a timeout does not cancel it); then its chat's next trigger redoes the job.
                        Log.Unavailable(_logger, $"(sweep of shard {shards[s]})", ex.GetType().Name, ex.Message);
                        break;
                    }

                    if (!removed)
                    {
                        continue;
                    }

                    var text = member.ToString();
                    var bar = text.LastIndexOf('|');
                    if (bar > 0 && long.TryParse(text.AsSpan(bar + 1), System.Globalization.CultureInfo.InvariantCulture, out var through))
                    {
                        jobs.Add((text[..bar], through));
                    }
                }
            }

            _breaker.Success();
            return jobs;
        }
        catch (Exception ex)
        {
            _breaker.Failure();
            Log.Unavailable(_logger, "(sweep)", ex.GetType().Name, ex.Message);
            return [];
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3805, LogLevel.Warning, "Summary lease of chat {ChatId} unavailable ({Error}: {Message}); the job runs without one (its commit still stores one summary per span).")]
        public static partial void Unavailable(ILogger logger, string chatId, string error, string message);

        [LoggerMessage(3806, LogLevel.Debug, "Summary lease of chat {ChatId} not given back ({Error}: {Message}); it expires on its own.")]
        public static partial void ReleaseFailed(ILogger logger, string chatId, string error, string message);

        [LoggerMessage(3807, LogLevel.Warning, "Summary lease of chat {ChatId} timed out ({Error}: {Message}); it may be set, so the run is skipped (the sweep or the next trigger retries).")]
        public static partial void AcquireTimedOut(ILogger logger, string chatId, string error, string message);

        [LoggerMessage(3808, LogLevel.Debug, "Summary job of chat {ChatId} not listed or unlisted for the sweep ({Error}: {Message}).")]
        public static partial void ListFailed(ILogger logger, string chatId, string error, string message);
    }
}
