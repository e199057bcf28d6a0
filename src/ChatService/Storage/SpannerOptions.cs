using System.ComponentModel.DataAnnotations;

namespace ChatService.Storage;

/// <summary>Where the chat database lives. Bound from the <c>Spanner</c> configuration section.</summary>
public sealed class SpannerOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Spanner";

    /// <summary>Google Cloud project id. Default: <c>local-project</c>.</summary>
    [Required]
    public string ProjectId { get; set; } = "local-project";

    /// <summary>Spanner instance id. Default: <c>local-instance</c>.</summary>
    [Required]
    public string InstanceId { get; set; } = "local-instance";

    /// <summary>Database id. Default: <c>chat</c>.</summary>
    [Required]
    public string DatabaseId { get; set; } = "chat";

    /// <summary>
    /// <c>host:port</c> of the Spanner emulator. Default: the <c>SPANNER_EMULATOR_HOST</c> environment
    /// variable; when neither is set the service uses real Cloud Spanner over TLS with
    /// Application Default Credentials.
    /// </summary>
    public string? EmulatorHost { get; set; }

    /// <summary>
    /// The Cloud Spanner API endpoint when no emulator is configured (a regional or Private Service Connect
    /// endpoint, say); calls use TLS and Application Default Credentials. Default: <c>https://spanner.googleapis.com</c>.
    /// </summary>
    [Required]
    public string Endpoint { get; set; } = "https://spanner.googleapis.com";

    /// <summary>
    /// Create the instance and database when they are missing. Default: true with the emulator,
    /// false otherwise (real instances and databases are provisioned by operators).
    /// </summary>
    public bool? CreateIfMissing { get; set; }

    /// <summary>Sessions kept open in the pool. Default: 4.</summary>
    [Range(0, 10_000)]
    public int MinSessions { get; set; } = 4;

    /// <summary>Upper bound of concurrently used sessions. Default: 100.</summary>
    [Range(1, 10_000)]
    public int MaxSessions { get; set; } = 100;

    /// <summary>Overall deadline of one read-write transaction including its retries. Default: 30 s.</summary>
    public TimeSpan TransactionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long start waits for the schema migration before the service starts anyway: it then
    /// serves liveness, reports unready, and keeps migrating in the background. Zero starts at once.
    /// Default: 30 s.
    /// </summary>
    public TimeSpan SchemaWaitOnStart { get; set; } = TimeSpan.FromSeconds(30);

    internal string? ResolvedEmulatorHost
    {
        get
        {
            var host = string.IsNullOrWhiteSpace(EmulatorHost) ? Environment.GetEnvironmentVariable("SPANNER_EMULATOR_HOST") : EmulatorHost;
            return string.IsNullOrWhiteSpace(host) ? null : host;
        }
    }

    internal Spanner.Client.SpannerClientOptions ToClientOptions() => new()
    {
        ProjectId = ProjectId,
        InstanceId = InstanceId,
        DatabaseId = DatabaseId,
        EmulatorHost = ResolvedEmulatorHost,
        Endpoint = Endpoint,
        MinSessions = MinSessions,
        MaxSessions = MaxSessions,
        TransactionTimeout = TransactionTimeout,
    };

    /// <summary>
    /// Where the service reaches Spanner, for logs and health descriptions: the emulator's
    /// <c>host:port (emulator)</c>, or the Cloud Spanner endpoint's <c>host:port</c>.
    /// </summary>
    internal string EndpointDescription =>
        ResolvedEmulatorHost is { } emulator ? $"{emulator} (emulator)"
        : Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) ? $"{uri.Host}:{uri.Port}"
        : Endpoint;

    internal bool ShouldCreateIfMissing => CreateIfMissing ?? ResolvedEmulatorHost is not null;
}
