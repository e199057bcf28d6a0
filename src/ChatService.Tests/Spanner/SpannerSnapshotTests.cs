using Spanner.Client;

namespace ChatService.Tests.Spanner;

/// <summary>Read-only snapshots on the emulator: one timestamp for all their reads, whatever commits meanwhile.</summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerSnapshotTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Snapshot_CommitBetweenTwoReads_BothSeeTheStateBeforeIt()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerSnapshotTests));
        var counter = Guid.NewGuid().ToString("N");
        var bucket = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 1L)], Ct);

        await using var snapshot = await client.BeginSnapshotAsync(cancellationToken: Ct);
        var first = await ReadCounterAsync(snapshot, counter);
        var committed = await client.WriteAsync(
        [
            SpannerMutation.Update("Counters").Set("Name", counter).Set("Value", 2L),
            SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", "new"),
        ], Ct);
        var second = await ReadCounterAsync(snapshot, counter);
        var items = await snapshot.QueryListAsync(new SpannerStatement("SELECT Id FROM Items WHERE Bucket = @b").Add("b", bucket), Ct);

        Assert.Equal(1, first);
        Assert.Equal(1, second);
        Assert.Empty(items);
        Assert.True(snapshot.ReadTimestamp < committed, $"read timestamp {snapshot.ReadTimestamp:O} should precede the commit at {committed:O}");
        Assert.Equal(2, await ReadCounterAsync(client, counter));
    }

    [Fact]
    public async Task StrongSnapshot_SeesEveryCommitThatFinishedBeforeIt()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerSnapshotTests));
        var counter = Guid.NewGuid().ToString("N");
        var committed = await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 4L)], Ct);

        await using var snapshot = await client.BeginSnapshotAsync(TimestampBound.Strong, Ct);

        Assert.True(snapshot.ReadTimestamp >= committed, $"read timestamp {snapshot.ReadTimestamp:O} should not precede the commit at {committed:O}");
        Assert.Equal(4, await ReadCounterAsync(snapshot, counter));
    }

    [Fact]
    public async Task SnapshotAtReadTimestamp_ReadsThatMomentAndReportsIt()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerSnapshotTests));
        var counter = Guid.NewGuid().ToString("N");
        var first = await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 1L)], Ct);
        await client.WriteAsync([SpannerMutation.Update("Counters").Set("Name", counter).Set("Value", 2L)], Ct);

        await using var snapshot = await client.BeginSnapshotAsync(TimestampBound.ReadTimestamp(first), Ct);

        Assert.Equal(first, snapshot.ReadTimestamp);
        Assert.Equal(1, await ReadCounterAsync(snapshot, counter));
    }

    [Fact]
    public async Task ExactStalenessSnapshot_ReadsThatFarInThePast()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerSnapshotTests));
        var bucket = Guid.NewGuid().ToString("N");
        var before = await client.WriteAsync([SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", "before")], Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(600), Ct);
        var after = await client.WriteAsync([SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", "after")], Ct);

        // Aim halfway between the two commits; the emulator shares this machine's clock.
        var staleness = DateTimeOffset.UtcNow - (before + (after - before) / 2);
        await using var snapshot = await client.BeginSnapshotAsync(TimestampBound.ExactStaleness(staleness), Ct);
        var rows = await snapshot.QueryListAsync(new SpannerStatement("SELECT Id FROM Items WHERE Bucket = @b").Add("b", bucket), Ct);

        Assert.InRange(snapshot.ReadTimestamp, before, after);
        Assert.Equal(["before"], rows.Select(r => r.Get<string>(0)));
    }

    [Fact]
    public async Task AnyReader_ClientSnapshotAndTransaction_RunTheSameReadCode()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerSnapshotTests));
        var counter = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 9L)], Ct);

        await using var snapshot = await client.BeginSnapshotAsync(cancellationToken: Ct);
        var inTransaction = await client.RunInTransactionAsync((tx, _) => ReadCounterAsync(tx, counter), Ct);

        Assert.Equal(9, await ReadCounterAsync(client, counter));
        Assert.Equal(9, await ReadCounterAsync(snapshot, counter));
        Assert.Equal(9, inTransaction);
    }

    private static async Task<long?> ReadCounterAsync(ISpannerReader reader, string counter)
    {
        var rows = await reader.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = @n").Add("n", counter), Ct);
        return rows.Count == 0 ? null : rows[0].Get<long>(0);
    }
}
