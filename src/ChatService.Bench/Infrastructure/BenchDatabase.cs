using Spanner.Client;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// A database of the bench's own on the stack's emulator. It outlives service instances, so a scenario
/// can restart the service on the same data. Its id goes into the <see cref="DatabaseLedger"/> at once,
/// the first service started on it creates it, and dispose drops it: the emulator keeps at most 100
/// databases per instance.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    public const string ProjectId = "local-project";

    /// <summary>Not the tests' instance: a bench run and a test run on one emulator don't share the 100-database budget.</summary>
    public const string InstanceId = "bench-instance";

    private BenchDatabase(string id) => Id = id;

    public string Id { get; }

    public SpannerClientOptions SpannerOptions => Options(Id);

    /// <summary>The service settings that put it on the stack and this database.</summary>
    public Dictionary<string, string> ServiceSettings => BenchStack.Endpoints.ServiceSettings(ProjectId, InstanceId, Id);

    /// <summary>A new database id no one else uses, recorded in the ledger.</summary>
    public static async Task<BenchDatabase> ReserveAsync()
    {
        var database = new BenchDatabase("bench" + Guid.NewGuid().ToString("N")[..12]);
        await DatabaseLedger.AddAsync(database.Id);
        return database;
    }

    /// <summary>Drops the database; stop every service on it first.</summary>
    public async ValueTask DisposeAsync()
    {
        await DropAsync(Id);
        await DatabaseLedger.RemoveAsync(Id);
    }

    /// <summary>Drops a database the bench created; a missing one is fine.</summary>
    public static async Task DropAsync(string databaseId)
    {
        await using var admin = SpannerAdminClient.Create(Options(databaseId));
        await admin.DropDatabaseAsync();
    }

    private static SpannerClientOptions Options(string databaseId) => new()
    {
        ProjectId = ProjectId,
        InstanceId = InstanceId,
        DatabaseId = databaseId,
        EmulatorHost = BenchStack.Endpoints.EmulatorHost,
    };
}
