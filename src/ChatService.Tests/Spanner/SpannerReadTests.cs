using Spanner.Client;

namespace ChatService.Tests.Spanner;

[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerReadTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StrongRead_RightAfterAWrite_SeesIt()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        var counter = Guid.NewGuid().ToString("N");

        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 7L)], Ct);

        Assert.Equal(7, await ReadCounterAsync(client, counter, TimestampBound.Strong));
        Assert.Equal(7, await ReadCounterAsync(client, counter, null));
    }

    [Fact]
    public async Task ReadTimestamp_BeforeAndAtTheCommit_SeesOldAndNewData()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        var counter = Guid.NewGuid().ToString("N");
        var first = await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 1L)], Ct);
        var second = await client.WriteAsync([SpannerMutation.Update("Counters").Set("Name", counter).Set("Value", 2L)], Ct);

        Assert.Equal(1, await ReadCounterAsync(client, counter, TimestampBound.ReadTimestamp(second.AddTicks(-10))));
        Assert.Equal(2, await ReadCounterAsync(client, counter, TimestampBound.ReadTimestamp(second)));
        Assert.Null(await ReadCounterAsync(client, counter, TimestampBound.ReadTimestamp(first.AddTicks(-10))));
    }

    [Fact]
    public async Task ExactStaleness_AfterAWrite_EventuallyReflectsIt()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        var counter = Guid.NewGuid().ToString("N");
        var staleness = TimeSpan.FromMilliseconds(300);

        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 5L)], Ct);

        long? seen = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (seen is null && DateTime.UtcNow < deadline)
        {
            try
            {
                seen = await ReadCounterAsync(client, counter, TimestampBound.ExactStaleness(staleness));
            }
            catch (SpannerException ex) when (ex.ErrorCode == SpannerErrorCode.InvalidArgument && ex.Message.Contains("Table not found"))
            {
                // The class's database may be younger than the staleness: the stale snapshot predates the table.
            }

            if (seen is null)
            {
                await Task.Delay(50, Ct);
            }
        }

        Assert.Equal(5, seen);
        Assert.Equal(5, await ReadCounterAsync(client, counter, TimestampBound.ExactStaleness(TimeSpan.Zero)));
    }

    [Fact]
    public async Task MaxStaleness_WriteOlderThanTheBound_IsVisible()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        var counter = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 3L)], Ct);
        await Task.Delay(200, Ct);

        // Max staleness guarantees every write committed longer ago than the bound is visible.
        Assert.Equal(3, await ReadCounterAsync(client, counter, TimestampBound.MaxStaleness(TimeSpan.FromMilliseconds(100))));
    }

    [Fact]
    public async Task QueryAsync_ManyRows_StreamsThemAllAndCountsThem()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        var bucket = Guid.NewGuid().ToString("N");
        await client.WriteAsync(Enumerable.Range(0, 500).Select(i =>
            SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", $"{i:D4}").Set("Payload", new string('p', 5000))), Ct);
        var rowsBefore = client.Statistics.RowsRead;

        var ids = new List<string>();
        await foreach (var row in client.QueryAsync(new SpannerStatement("SELECT Id, Payload FROM Items WHERE Bucket = @b ORDER BY Id").Add("b", bucket), cancellationToken: Ct))
        {
            ids.Add(row.Get<string>("Id"));
            Assert.Equal(5000, row.Get<string>("payload").Length);
        }

        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"{i:D4}"), ids);
        Assert.Equal(500, client.Statistics.RowsRead - rowsBefore);
    }

    [Fact]
    public async Task Query_InvalidSql_SurfacesInvalidArgument()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));

        var error = await Assert.ThrowsAsync<SpannerException>(() => client.QueryListAsync(new SpannerStatement("SELECT FROM nowhere"), cancellationToken: Ct));

        Assert.Equal(SpannerErrorCode.InvalidArgument, error.ErrorCode);
    }

    [Fact]
    public async Task Query_CanceledByCaller_ThrowsOperationCanceled()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerReadTests));
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: cts.Token));
    }

    private static async Task<long?> ReadCounterAsync(SpannerDatabaseClient client, string counter, TimestampBound? bound)
    {
        var rows = await client.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = @n").Add("n", counter), bound, Ct);
        return rows.Count == 0 ? null : rows[0].Get<long>(0);
    }
}
