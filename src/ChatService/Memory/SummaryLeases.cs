using ChatService.Cache;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Memory;

/// <summary>A held summary lease: whose it is, and the span it was taken for.</summary>
internal sealed record SummaryLease(string ChatId, long ThroughSeq, string Value, bool InRedis);

/// <summary>
/// Who may call the model for a chat's summary now: a lease in Redis (<c>SET … NX PX</c> on the chat's
/// own key) rather than a claim row in Spanner, so a summary costs Spanner one commit (the store) and a
/// reply's trigger that finds a job under way costs it nothing. The lease only saves model calls: that
/// no span is summarized twice is the store's conditional commit's job, which holds without any lease.
/// <list type="bullet">
/// <item>Each held lease is also listed in one sorted set scored by its expiry, so that the sweep finds
/// the leases of replicas that died mid-job (SIGKILL) in Redis, without reading Spanner.</item>
/// <item>A replica that dies leaves its lease until it expires (<see cref="SummaryOptions.Lease"/>); then
/// the next trigger of the chat or any replica's sweep takes the job up.</item>
/// <item>Without Redis (not configured, unreachable, or its breaker open) every attempt gets a lease of
/// its own: replicas may then both call the model, and one of them stores.</item>
/// </list>
/// </summary>
internal sealed partial class SummaryLeases
{
    /// <summary>The sorted set of held leases (members <c>chatId|throughSeq</c>, scored by expiry in Unix ms).</summary>
    internal const string LeaseSetKey = "summary:leases";

    // Deletes the lease only while it is still the one this runner took (an expired one may be another's now).
    private const string ReleaseScript =
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    private readonly IConnectionMultiplexer? _redis;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CircuitBreaker? _breaker;

    public SummaryLeases(IServiceProvider services, TimeProvider timeProvider, ILogger<SummaryLeases> logger)
    {
        var options = services.GetRequiredService<IOptions<RedisOptions>>().Value;
        _redis = options.Enabled ? services.GetService<IConnectionMultiplexer>() : null;
        _timeout = options.OperationTimeout;
        _timeProvider = timeProvider;
        _logger = logger;
        _breaker = _redis is null ? null : new CircuitBreaker(options.BreakerFailureThreshold, options.BreakerOpenDuration, timeProvider);
    }

    internal static RedisKey LeaseKey(string chatId) => $"chat:{{{chatId}}}:summary";

    private static string Member(string chatId, long throughSeq) => $"{chatId}|{throughSeq}";

    /// <summary>
    /// Takes the chat's lease for <paramref name="duration"/>; null when another runner holds it. With Redis
    /// unusable, a lease that guards nothing.
    /// </summary>
    public async Task<SummaryLease?> TryAcquireAsync(string chatId, long throughSeq, string replica, TimeSpan duration)
    {
        var value = $"{replica}|{throughSeq}|{Guid.NewGuid():N}";
        if (_redis is null || _breaker is null || !_breaker.TryEnter())
        {
            return new SummaryLease(chatId, throughSeq, value, InRedis: false);
        }

        try
        {
            var database = _redis.GetDatabase();
            if (!await database.StringSetAsync(LeaseKey(chatId), value, duration, When.NotExists).WaitAsync(_timeout, _timeProvider))
            {
                _breaker.Success();
                return null;
            }

            // Listed after it is taken: a runner that dies in between leaves a lease nobody sweeps, and the
            // chat's next trigger takes the job up once it expires.
            var expires = (_timeProvider.GetUtcNow() + duration).ToUnixTimeMilliseconds();
            await database.SortedSetAddAsync(LeaseSetKey, Member(chatId, throughSeq), expires).WaitAsync(_timeout, _timeProvider);
            _breaker.Success();
            return new SummaryLease(chatId, throughSeq, value, InRedis: true);
        }
        catch (Exception ex)
        {
            _breaker.Failure();
            Log.Unavailable(_logger, chatId, ex.GetType().Name, ex.Message);
            return new SummaryLease(chatId, throughSeq, value, InRedis: false);
        }
    }

    /// <summary>Gives the lease back (the job ended, however). A failure leaves it to expire.</summary>
    public async Task ReleaseAsync(SummaryLease lease)
    {
        if (!lease.InRedis || _redis is null)
        {
            return;
        }

        try
        {
            var database = _redis.GetDatabase();
            await Task.WhenAll(
                    database.ScriptEvaluateAsync(ReleaseScript, [LeaseKey(lease.ChatId)], [lease.Value]),
                    database.SortedSetRemoveAsync(LeaseSetKey, Member(lease.ChatId, lease.ThroughSeq)))
                .WaitAsync(_timeout, _timeProvider);
        }
        catch (Exception ex)
        {
            Log.ReleaseFailed(_logger, lease.ChatId, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>
    /// Jobs whose lease expired without being given back (their replica died), at most <paramref name="limit"/>,
    /// taken off the list: whoever runs one takes a new lease. Empty without Redis. Costs Spanner nothing.
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
            var members = await database.SortedSetRangeByScoreAsync(LeaseSetKey, double.NegativeInfinity, now, take: limit).WaitAsync(_timeout, _timeProvider);
            var jobs = new List<(string, long)>(members.Length);
            foreach (var member in members)
            {
                // Only the sweep that removes a member runs its job; the others skip it.
                if (!await database.SortedSetRemoveAsync(LeaseSetKey, member).WaitAsync(_timeout, _timeProvider))
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
    }
}
