using Spanner.Client;

namespace ChatService.Tests.Spanner;

[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerSessionTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WarmUp_CreatesMinSessions()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(SpannerSessionTests));
        await using var client = SpannerDatabaseClient.Create(emulator.Options(databaseId, minSessions: 3));

        await client.WarmUpAsync(Ct);
        await client.WarmUpAsync(Ct);

        Assert.Equal(3, client.Statistics.SessionsCreated);
        Assert.Equal(3, client.Pool.IdleSessionNames.Count);
    }

    [Fact]
    public async Task WarmUp_MissingDatabase_Throws()
    {
        await using var client = SpannerDatabaseClient.Create(emulator.Options("does-not-exist"));

        var error = await Assert.ThrowsAsync<SpannerException>(() => client.WarmUpAsync(Ct));

        Assert.Equal(SpannerErrorCode.NotFound, error.ErrorCode);
    }

    [Fact]
    public async Task Query_SessionDeletedBehindThePoolsBack_IsReplacedTransparently()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(SpannerSessionTests));
        await using var client = SpannerDatabaseClient.Create(emulator.Options(databaseId, minSessions: 1, maxSessions: 1));
        await client.WarmUpAsync(Ct);
        var lost = Assert.Single(client.Pool.IdleSessionNames);
        await client.Rpc.DeleteSessionAsync(lost, Ct);

        var rows = await client.QueryListAsync(new SpannerStatement("SELECT 42"), cancellationToken: Ct);

        Assert.Equal(42, rows[0].Get<long>(0));
        var replacement = Assert.Single(client.Pool.IdleSessionNames);
        Assert.NotEqual(lost, replacement);
        Assert.Equal(2, client.Statistics.SessionsCreated);
    }

    [Fact]
    public async Task Transaction_SessionDeletedBehindThePoolsBack_IsReplacedTransparently()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(SpannerSessionTests));
        await using var client = SpannerDatabaseClient.Create(emulator.Options(databaseId, minSessions: 1, maxSessions: 1));
        await client.WarmUpAsync(Ct);
        await client.Rpc.DeleteSessionAsync(Assert.Single(client.Pool.IdleSessionNames), Ct);

        var commitTimestamp = await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", "n").Set("Value", 1L)], Ct);

        Assert.NotEqual(default, commitTimestamp);
        Assert.Equal(1, client.Statistics.Commits);
    }

    [Fact]
    public async Task MaxSessions_MoreConcurrentQueriesThanSessions_WaitAndAllSucceed()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(SpannerSessionTests));
        await using var client = SpannerDatabaseClient.Create(emulator.Options(databaseId, minSessions: 0, maxSessions: 2));

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            client.QueryListAsync(new SpannerStatement("SELECT @i").Add("i", i), cancellationToken: Ct)));

        Assert.Equal(Enumerable.Range(0, 10), results.Select(r => r[0].Get<int>(0)));
        Assert.True(client.Statistics.SessionsCreated <= 2);
    }
}
