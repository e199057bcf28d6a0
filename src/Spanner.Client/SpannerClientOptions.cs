namespace Spanner.Client;

/// <summary>
/// Where the Spanner database is and how the client behaves. Shared by
/// <see cref="SpannerDatabaseClient"/> and <see cref="SpannerAdminClient"/>.
/// </summary>
public sealed class SpannerClientOptions
{
    /// <summary>The Google Cloud project id. Required.</summary>
    public required string ProjectId { get; init; }

    /// <summary>The Spanner instance id. Required.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The database id. Required.</summary>
    public required string DatabaseId { get; init; }

    /// <summary>
    /// The emulator's <c>host:port</c>. When set the client speaks plaintext HTTP/2 without credentials.
    /// Default: <c>null</c>, meaning TLS to <see cref="Endpoint"/> with Application Default Credentials.
    /// </summary>
    public string? EmulatorHost { get; init; }

    /// <summary>The Spanner API endpoint used when <see cref="EmulatorHost"/> is null. Default: <c>https://spanner.googleapis.com</c>.</summary>
    public string Endpoint { get; init; } = "https://spanner.googleapis.com";

    /// <summary>
    /// Supplies OAuth2 access tokens, overriding Application Default Credentials. Ignored for the emulator.
    /// Default: <c>null</c> (use ADC, loaded lazily on the first call).
    /// </summary>
    public Func<CancellationToken, Task<string>>? AccessTokenProvider { get; init; }

    /// <summary>Sessions created by <see cref="SpannerDatabaseClient.WarmUpAsync"/> and kept in the pool. Default: 4.</summary>
    public int MinSessions { get; init; } = 4;

    /// <summary>Upper bound of sessions; callers beyond it wait for a free session. Default: 100.</summary>
    public int MaxSessions { get; init; } = 100;

    /// <summary>
    /// Idle sessions older than this get a <c>SELECT 1</c> so the server does not garbage-collect them
    /// (Spanner drops sessions idle for about an hour). Default: 30 minutes.
    /// </summary>
    public TimeSpan SessionKeepAliveInterval { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Overall deadline of a read-write transaction's retry loop (all attempts together). Default: 60 seconds.</summary>
    public TimeSpan TransactionTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>First backoff delay after an ABORTED attempt when the server sends no RetryInfo. Default: 10 ms.</summary>
    public TimeSpan RetryInitialDelay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Cap of the exponential backoff between attempts. Default: 2 seconds.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The database resource name: <c>projects/{ProjectId}/instances/{InstanceId}/databases/{DatabaseId}</c>.</summary>
    public string DatabasePath => $"projects/{ProjectId}/instances/{InstanceId}/databases/{DatabaseId}";

    internal string InstancePath => $"projects/{ProjectId}/instances/{InstanceId}";

    internal string ProjectPath => $"projects/{ProjectId}";

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(ProjectId);
        ArgumentException.ThrowIfNullOrWhiteSpace(InstanceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(DatabaseId);
        ArgumentOutOfRangeException.ThrowIfNegative(MinSessions);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSessions, 1);
        if (MinSessions > MaxSessions)
        {
            throw new ArgumentException($"MinSessions ({MinSessions}) exceeds MaxSessions ({MaxSessions}).");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(SessionKeepAliveInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(TransactionTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryInitialDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMaxDelay, RetryInitialDelay);
    }
}
