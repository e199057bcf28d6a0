using System.ComponentModel.DataAnnotations;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>The history cache on Redis Cluster. Bound from the <c>Redis</c> configuration section.</summary>
public sealed class RedisOptions : IValidatableObject
{
    public const string Section = "Redis";

    /// <summary>
    /// Comma-separated <c>host:port</c> seeds of the cluster (any reachable node will do; the client
    /// discovers the rest), e.g. Memorystore's discovery endpoint. StackExchange.Redis options may follow
    /// (<c>,ssl=true</c>), but the settings below are clearer. Empty disables the cache: every read goes to
    /// Spanner. Default: empty.
    /// </summary>
    public string Endpoints { get; set; } = "";

    /// <summary>
    /// Connect with TLS (Memorystore's in-transit encryption, most managed Redis services). Default: false.
    /// </summary>
    public bool Ssl { get; set; }

    /// <summary>
    /// The name the server certificate must carry, when it is not the host the client connects to (the
    /// cluster hands out node addresses as IPs). Default: none, meaning each node's own host or IP.
    /// </summary>
    public string? SslHost { get; set; }

    /// <summary>
    /// A PEM file of the certificate authorities that sign the servers' certificates (e.g. the cluster's
    /// server CA bundle); when set, only chains ending at one of them are accepted, instead of the system's
    /// trust store. Default: none (the system's trust store).
    /// </summary>
    public string? CaCertificatePath { get; set; }

    /// <summary>The ACL user to authenticate as (Redis 6+). Default: none (the default user).</summary>
    public string? User { get; set; }

    /// <summary>
    /// The password (or AUTH string) to authenticate with; keep it in a secret, e.g. the environment variable
    /// <c>Redis__Password</c>. Default: none.
    /// </summary>
    public string? Password { get; set; }

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
    /// Newest turns of a window also kept as one value, framed as GetHistoryResponse.turns, so a
    /// history page of up to this many turns (the first page at the default page size) is one small
    /// script and goes to the wire undecoded, and is what the near cache keeps. Larger reads use the
    /// window's script. At most <see cref="WindowTurns"/>. Default: 20.
    /// </summary>
    [Range(0, 1000)]
    public int HeadTurns { get; set; } = 20;

    /// <summary>
    /// Memory for this replica's near cache: copies of hot window heads (the first history page)
    /// kept in process, each dropped as soon as its window changes (the scripts announce every
    /// change on the chat's sharded channel) and all of them whenever the connection to Redis
    /// fails, is restored, the cluster's layout changes or the breaker opens. 0 turns it off: every
    /// read goes to Redis. Default: 64 MiB.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long NearCacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The longest a near-cached head is served before it is read from Redis again: the bound on
    /// staleness should a change announcement ever be lost without the connection failing.
    /// Default: 1 s.
    /// </summary>
    public TimeSpan NearCacheMaxAge { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a change announced before its commit may take to reach the window: past it, a
    /// window whose change never arrived (its writer died, or lost Redis) is dropped by the next
    /// replica that reads it. Longer than a commit and its apply take, including retries of aborted
    /// transactions; shorter only means needless reloads. Default: 5 s.
    /// </summary>
    public TimeSpan ChangeDeadline { get; set; } = TimeSpan.FromSeconds(5);

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

    /// <summary>
    /// Life of a definition token (a character's, or a user's personas'; see DefinitionTokens): a reply
    /// on a warm chat reuses the definitions this replica read while their tokens stand, and each token
    /// is replaced at least this often, so a change whose token deletion was lost (its replica killed right
    /// after the commit) reaches replies within it. Default: 10 min.
    /// </summary>
    public TimeSpan DefinitionTokenTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a deleted chat's tombstone keeps late loads from caching it again. Default: 1 min.</summary>
    public TimeSpan TombstoneTtl { get; set; } = TimeSpan.FromMinutes(1);

    internal bool Enabled => !string.IsNullOrWhiteSpace(Endpoints);

    /// <summary>A head larger than its window, TLS settings that would silently do nothing, and a CA file that cannot be used, fail the start.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HeadTurns > WindowTurns)
        {
            yield return new ValidationResult("Redis:HeadTurns must not exceed Redis:WindowTurns", [nameof(HeadTurns)]);
        }

        if (DefinitionTokenTtl <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Redis:DefinitionTokenTtl must be positive", [nameof(DefinitionTokenTtl)]);
        }

        if (NearCacheMaxAge <= TimeSpan.Zero || ChangeDeadline <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Redis:NearCacheMaxAge and Redis:ChangeDeadline must be positive", [nameof(NearCacheMaxAge), nameof(ChangeDeadline)]);
        }

        var tls = Ssl || Endpoints.Contains("ssl=true", StringComparison.OrdinalIgnoreCase);
        if (!tls && (!string.IsNullOrWhiteSpace(CaCertificatePath) || !string.IsNullOrWhiteSpace(SslHost)))
        {
            yield return new ValidationResult("Redis:CaCertificatePath and Redis:SslHost only apply with TLS: set Redis:Ssl=true.",
                [nameof(CaCertificatePath), nameof(SslHost)]);
        }

        if (!string.IsNullOrWhiteSpace(CaCertificatePath))
        {
            string? error = null;
            try
            {
                RedisCertificateTrust.Load(CaCertificatePath);
            }
            catch (InvalidOperationException ex)
            {
                error = ex.Message;
            }

            if (error is not null)
            {
                yield return new ValidationResult(error, [nameof(CaCertificatePath)]);
            }
        }
    }

    /// <summary>The client configuration: the endpoints' string, then TLS and credentials from the settings above.</summary>
    internal ConfigurationOptions ToConfiguration()
    {
        var config = ConfigurationOptions.Parse(Endpoints);
        config.AbortOnConnectFail = false;
        config.ConnectTimeout = 2000;
        config.AsyncTimeout = Math.Max(100, (int)OperationTimeout.TotalMilliseconds);
        config.ClientName = "chatservice";
        if (Ssl)
        {
            config.Ssl = true;
        }

        if (!string.IsNullOrWhiteSpace(SslHost))
        {
            config.SslHost = SslHost;
        }

        if (!string.IsNullOrWhiteSpace(CaCertificatePath))
        {
            var trust = RedisCertificateTrust.Load(CaCertificatePath);
            config.CertificateValidation += trust.Validate;
        }

        if (!string.IsNullOrEmpty(User))
        {
            config.User = User;
        }

        if (!string.IsNullOrEmpty(Password))
        {
            config.Password = Password;
        }

        return config;
    }
}
