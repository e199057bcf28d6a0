using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Spanner;

[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerAdminIntegrationTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnsureDatabase_ThenDdl_CreatesSchemaIdempotently()
    {
        var databaseId = $"admin-{Guid.NewGuid():N}"[..20];
        await using var admin = SpannerAdminClient.Create(emulator.Options(databaseId));

        await admin.EnsureInstanceAsync(cancellationToken: Ct);
        await admin.EnsureDatabaseAsync(Ct);
        await admin.EnsureDatabaseAsync(Ct);
        await admin.UpdateDdlAsync(["CREATE TABLE Notes (Id STRING(36) NOT NULL, Body STRING(MAX)) PRIMARY KEY (Id)"], Ct);

        var ddl = await admin.GetDdlAsync(Ct);
        Assert.Contains(ddl, s => s.Contains("CREATE TABLE Notes", StringComparison.Ordinal));

        await admin.DropDatabaseAsync(Ct);
        await admin.DropDatabaseAsync(Ct);
    }

    [Fact]
    public async Task UpdateDdl_InvalidStatement_ThrowsSpannerException()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(SpannerAdminIntegrationTests));
        await using var admin = SpannerAdminClient.Create(emulator.Options(databaseId));

        var error = await Assert.ThrowsAsync<SpannerException>(() => admin.UpdateDdlAsync(["CREATE TABLE Counters (X INT64) PRIMARY KEY (X)"], Ct));

        Assert.Contains(error.ErrorCode, new[] { SpannerErrorCode.FailedPrecondition, SpannerErrorCode.InvalidArgument, SpannerErrorCode.AlreadyExists });
    }
}
