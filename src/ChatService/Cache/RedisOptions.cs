using System.ComponentModel.DataAnnotations;

namespace ChatService.Cache;

/// <summary>The history cache on Redis Cluster. Bound from the <c>Redis</c> configuration section.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>
    /// Comma-separated <c>host:port</c> seeds of the cluster (any reachable node will do; the client
    /// discovers the rest). Empty disables the cache: every read goes to Spanner. Default: empty.
    /// </summary>
    public string Endpoints { get; set; } = "";

    /// <summary>
    /// How long a cached window lives from the moment it is loaded; updates do not extend it, so
    /// this also bounds how long a window can be wrong after a lost update. Default: 10 min.
    /// </summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Random spread of the TTL, as a fraction (0.2 = ±20%), so windows loaded together do not expire together. Default: 0.2.</summary>
    [Range(0, 0.9)]
    public double TtlJitter { get; set; } = 0.2;

    /// <summary>Turns kept in a chat's cached window: the prompt window and the first history page come from it. Default: 50.</summary>
    [Range(1, 1000)]
    public int WindowTurns { get; set; } = 50;

    /// <summary>
    /// Newest turns of a window also kept as one value, so a history page of up to this many turns
    /// (the first page at the default page size) is one HMGET with no script. Larger reads use the
    /// window's script. At most <see cref="WindowTurns"/>. Default: 20.
    /// </summary>
    [Range(0, 1000)]
    public int HeadTurns { get; set; } = 20;

    /// <summary>Timeout of one cache operation; a slower Redis counts as failing. Default: 250 ms.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Consecutive failures that open the circuit breaker (reads and writes then skip Redis). Default: 5.</summary>
    [Range(1, 1000)]
    public int BreakerFailureThreshold { get; set; } = 5;

    /// <summary>How long the breaker stays open before one probe is let through. Default: 2 s.</summary>
    public TimeSpan BreakerOpenDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Spanner reads of windows in flight at once while the cache is bypassed or missing. Default: 64.</summary>
    [Range(1, 10_000)]
    public int FallbackConcurrency { get; set; } = 64;

    /// <summary>How long a deleted chat's tombstone keeps late loads from caching it again. Default: 1 min.</summary>
    public TimeSpan TombstoneTtl { get; set; } = TimeSpan.FromMinutes(1);

    internal bool Enabled => !string.IsNullOrWhiteSpace(Endpoints);
}
