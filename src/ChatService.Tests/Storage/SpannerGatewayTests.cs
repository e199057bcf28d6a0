using System.Reflection;
using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Spanner;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>No Spanner error leaves a store: every way the gateway offers to Spanner translates, and the stores have no other.</summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerGatewayTests(SpannerEmulatorFixture emulator)
{
    private static readonly SpannerStatement Malformed = new("SELECT FROM NoSuchTable");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryEntry_ASpannerError_ComesOutAsAStorageException()
    {
        var gateway = new SpannerGateway(await emulator.ClientForAsync(nameof(SpannerGatewayTests)));

        var failures = new List<StorageException>
        {
            await Assert.ThrowsAsync<StorageException>(() => gateway.ReadAsync((r, ct) => r.QueryListAsync(Malformed, ct), Ct)),
            await Assert.ThrowsAsync<StorageException>(() => gateway.SnapshotAsync((r, ct) => r.QueryListAsync(Malformed, ct), Ct)),
            await Assert.ThrowsAsync<StorageException>(() => gateway.TransactionAsync((tx, ct) => tx.QueryListAsync(Malformed, ct), Ct)),
            await Assert.ThrowsAsync<StorageException>(() => gateway.TransactionAsync(async (tx, ct) => { await tx.QueryListAsync(Malformed, ct); }, Ct)),
            await Assert.ThrowsAsync<StorageException>(() => gateway.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", "no value")], Ct)),
        };

        // A bad statement stays distinguishable from the store being down.
        Assert.All(failures, f => Assert.Equal(StorageErrorKind.Rejected, f.Kind));
        Assert.All(failures, f => Assert.IsType<SpannerException>(f.InnerException));
    }

    [Fact]
    public void Stores_ReachSpannerOnlyThroughTheGateway()
    {
        // Only the gateway, and the schema and health plumbing that never serve a request, may hold the client.
        var allowed = new[] { typeof(SpannerGateway), typeof(SchemaMigrator), typeof(SpannerHealthCheck) };
        var holders = typeof(SpannerGateway).Assembly.GetTypes()
            .Where(t => t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
                .Any(c => c.GetParameters().Any(p => p.ParameterType == typeof(SpannerDatabaseClient))))
            .Except(allowed)
            .Select(t => t.FullName);

        Assert.Empty(holders);
    }
}
