using Google.Apis.Auth.OAuth2;

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

    /// <summary>
    /// The Spanner API endpoint used when <see cref="EmulatorHost"/> is null, e.g. a regional or Private Service
    /// Connect endpoint. It must be <c>https</c>, or <c>http</c> with a loopback host (a local proxy or a test
    /// server; the access token then travels unencrypted, but never leaves the machine).
    /// Default: <c>https://spanner.googleapis.com</c>.
    /// </summary>
    public string Endpoint { get; init; } = "https://spanner.googleapis.com";

    /// <summary>
    /// The credential whose OAuth2 access tokens authorize every call, e.g. <c>GoogleCredential.FromFile(path)</c>
    /// or a <c>ComputeCredential</c>. A <c>GoogleCredential</c> that needs scopes gets Spanner's data scope (the
    /// admin client: the admin scope). The credential caches and refreshes its tokens; the client asks it on
    /// every call. Ignored for the emulator.
    /// Default: <c>null</c>, meaning Application Default Credentials, loaded on the first call: the key file named
    /// by <c>GOOGLE_APPLICATION_CREDENTIALS</c>, else gcloud's application-default login, else the metadata
    /// server (on GKE with Workload Identity, the Kubernetes service account's Google identity).
    /// </summary>
    public ITokenAccess? Credential { get; init; }

    /// <summary>
    /// Longest wait for an access token (including a refresh from the metadata server or token endpoint) before
    /// the call fails with UNAVAILABLE, so an unreachable token source cannot hang calls. Default: 10 seconds.
    /// </summary>
    public TimeSpan TokenTimeout { get; init; } = TimeSpan.FromSeconds(10);

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

    /// <summary>
    /// Longest wait between the channel's attempts to reconnect after losing Spanner. Until the next
    /// attempt connects, every call fails at once with UNAVAILABLE, so this bounds how long the client
    /// keeps failing after Spanner is back; gRPC's own default lets the wait grow to 2 minutes. While
    /// Spanner is unreachable the channel tries to connect about this often. Default: 1 second.
    /// </summary>
    public TimeSpan MaxReconnectBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The database resource name: <c>projects/{ProjectId}/instances/{InstanceId}/databases/{DatabaseId}</c>.</summary>
    public string DatabasePath => $"projects/{ProjectId}/instances/{InstanceId}/databases/{DatabaseId}";

    private void ValidateEndpoint()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
        {
            throw new ArgumentException($"Endpoint '{Endpoint}' is not an absolute https URI such as https://spanner.googleapis.com.", nameof(Endpoint));
        }

        if (uri.Scheme == "http" && !uri.IsLoopback)
        {
            throw new ArgumentException(
                $"Endpoint '{Endpoint}' is plaintext http to another machine, which would send access tokens in the clear; use https.",
                nameof(Endpoint));
        }
    }

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
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(TokenTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MaxReconnectBackoff, TimeSpan.Zero);
        if (string.IsNullOrWhiteSpace(EmulatorHost))
        {
            ValidateEndpoint();
        }
    }
}
