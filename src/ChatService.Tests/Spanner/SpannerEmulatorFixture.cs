using System.Collections.Concurrent;
using ChatService.Testing;
using Spanner.Client;

namespace ChatService.Tests.Spanner;

/// <summary>
/// A private Spanner emulator with one instance, shared by a test collection. Each test class gets its own
/// database (the emulator allows 100 per instance), created once and reused by the class's tests.
/// </summary>
public class SpannerEmulatorFixture : IAsyncLifetime
{
    public const string ProjectId = "test-project";
    public const string InstanceId = "test-instance";

    private readonly ConcurrentDictionary<string, Lazy<Task<SpannerDatabaseClient>>> _databases = new();
    private readonly ConcurrentBag<IAsyncDisposable> _owned = [];
    private EmulatorProcess? _emulator;

    protected virtual bool FaultInjection => false;

    public string EmulatorHost => _emulator?.HostPort ?? throw new InvalidOperationException("The emulator is not running.");

    public async ValueTask InitializeAsync()
    {
        _emulator = await EmulatorProcess.StartAsync(FaultInjection, TestContext.Current.CancellationToken);
        await using var admin = SpannerAdminClient.Create(Options("unused"));
        await admin.EnsureInstanceAsync();
    }

    /// <summary>Options for a database on this emulator.</summary>
    public SpannerClientOptions Options(string databaseId, int minSessions = 2, int maxSessions = 20) => new()
    {
        ProjectId = ProjectId,
        InstanceId = InstanceId,
        DatabaseId = databaseId,
        EmulatorHost = EmulatorHost,
        MinSessions = minSessions,
        MaxSessions = maxSessions,
    };

    /// <summary>A shared client on the database of <paramref name="owner"/> (created with the test schema on first use).</summary>
    public Task<SpannerDatabaseClient> ClientForAsync(string owner) =>
        _databases.GetOrAdd(owner, key => new Lazy<Task<SpannerDatabaseClient>>(() => CreateClientAsync(key))).Value;

    /// <summary>Creates a new database with <paramref name="schema"/> (default: the test schema) and returns its id.</summary>
    public async Task<string> CreateDatabaseAsync(string owner, IReadOnlyList<string>? schema = null)
    {
        var prefix = new string(owner.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(12).ToArray());
        var databaseId = $"{(prefix.Length > 0 ? prefix : "db")}-{Guid.NewGuid():N}"[..29];
        await using var admin = SpannerAdminClient.Create(Options(databaseId));
        await admin.EnsureDatabaseAsync();
        await admin.UpdateDdlAsync(schema ?? TestSchema.Statements);
        return databaseId;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<SpannerDatabaseClient> CreateClientAsync(string owner)
    {
        var databaseId = await CreateDatabaseAsync(owner);
        var client = SpannerDatabaseClient.Create(Options(databaseId));
        _owned.Add(client);
        await client.WarmUpAsync();
        return client;
    }
}
