using System.Globalization;
using System.Threading.RateLimiting;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Limits;

/// <summary>
/// Admits or refuses a user's reply-starting calls before anything is written: first a slot
/// among the user's concurrent replies, then a token from the user's rate bucket. Refusals are
/// RESOURCE_EXHAUSTED with a retry delay.
/// </summary>
/// <remarks>
/// One partition per user, created on demand; the partitioned limiters drop a user's partition
/// after it has been idle (a full bucket, no slot taken) for a few seconds, so memory follows
/// the users active right now, not every user ever seen. System.Threading.RateLimiting reads
/// the system clock and has no TimeProvider hook, so tests use real (short) time.
/// </remarks>
public sealed class UserLimiter : IDisposable
{
    /// <summary>A concurrent-reply slot frees when a reply ends, which we cannot predict; replies take seconds.</summary>
    public static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(2);

    private readonly PartitionedRateLimiter<string> _sends;
    private readonly PartitionedRateLimiter<string> _replies;
    private readonly LimitsOptions _options;
    private readonly TimeSpan _tokenPeriod;
    private readonly ILogger<UserLimiter> _logger;

    public UserLimiter(IOptions<LimitsOptions> options, ILogger<UserLimiter> logger)
    {
        _options = options.Value;
        _logger = logger;
        // One token every 60/SendsPerMinute seconds; the partitioned limiter's own timer
        // refills them, rather than one timer per user.
        _tokenPeriod = TimeSpan.FromMinutes(1) / _options.SendsPerMinute;
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = _options.SendBurst,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = _tokenPeriod,
            QueueLimit = 0,
            AutoReplenishment = false,
        };
        var slots = new ConcurrencyLimiterOptions { PermitLimit = _options.ConcurrentRepliesPerUser, QueueLimit = 0 };
        _sends = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetTokenBucketLimiter(user, _ => bucket));
        _replies = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.GetConcurrencyLimiter(user, _ => slots));
    }

    /// <summary>
    /// Admits one call of <paramref name="operation"/> that will start replies, or throws a
    /// RESOURCE_EXHAUSTED <see cref="ChatException"/>. The caller keeps the returned slot
    /// until the replies settle.
    /// </summary>
    public ReplyAdmission Admit(string userId, string operation)
    {
        var slot = _replies.AttemptAcquire(userId);
        if (!slot.IsAcquired)
        {
            slot.Dispose();
            throw Refuse(operation, "concurrent_replies", ConcurrencyRetryAfter,
                $"too many replies in progress: at most {_options.ConcurrentRepliesPerUser} at a time per user; " +
                $"wait for one to finish (or cancel it) and retry");
        }

        using var token = _sends.AttemptAcquire(userId);
        if (!token.IsAcquired)
        {
            slot.Dispose();
            var retryAfter = token.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : _tokenPeriod;
            throw Refuse(operation, "sends_per_minute", retryAfter,
                $"too many messages: at most {_options.SendsPerMinute} per minute per user, {_options.SendBurst} at once; " +
                $"retry in {Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s");
        }

        return new ReplyAdmission(slot);
    }

    /// <summary>
    /// Admits one call that asks the moderation classifier about a user's text without starting a reply
    /// (EditTurn), or throws RESOURCE_EXHAUSTED with a retry delay: it takes a token from the same bucket
    /// as sends, so edits cannot spend the classifier faster than messages can. No slot is held.
    /// </summary>
    public void AdmitClassifierCall(string userId, string operation)
    {
        using var token = _sends.AttemptAcquire(userId);
        if (!token.IsAcquired)
        {
            var retryAfter = token.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : _tokenPeriod;
            throw Refuse(operation, "sends_per_minute", retryAfter,
                $"too many messages and edits: at most {_options.SendsPerMinute} per minute per user, {_options.SendBurst} at once, " +
                $"while edits are moderated; retry in {Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture)} s");
        }
    }

    public void Dispose()
    {
        _sends.Dispose();
        _replies.Dispose();
    }

    private ChatException Refuse(string operation, string limit, TimeSpan retryAfter, string message)
    {
        LimitsMetrics.Reject(limit);
        LimitsLog.Refused(_logger, operation, limit, retryAfter);
        return new ChatException(ChatErrorKind.ResourceExhausted, message) { RetryAfter = retryAfter };
    }
}
