using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Spanner;

[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerTransactionTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ExecuteDml_InsideTransaction_ReturnsRowCountsAndReadsItsOwnWrites()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var bucket = Guid.NewGuid().ToString("N");

        var counts = await client.RunInTransactionAsync(async (tx, ct) =>
        {
            var inserted = await tx.ExecuteDmlAsync(
                new SpannerStatement("INSERT INTO Items (Bucket, Id, Payload) VALUES (@b, 'a', 'one'), (@b, 'b', 'two'), (@b, 'c', 'three')").Add("b", bucket), ct);
            var updated = await tx.ExecuteDmlAsync(
                new SpannerStatement("UPDATE Items SET Payload = CONCAT(Payload, '!') WHERE Bucket = @b AND Id != 'c'").Add("b", bucket), ct);
            var seen = await tx.QueryListAsync(
                new SpannerStatement("SELECT Payload FROM Items WHERE Bucket = @b ORDER BY Id").Add("b", bucket), ct);
            return (inserted, updated, Payloads: seen.Select(r => r.Get<string>(0)).ToList());
        }, Ct);

        Assert.Equal(3, counts.inserted);
        Assert.Equal(2, counts.updated);
        Assert.Equal(["one!", "two!", "three"], counts.Payloads);
        var committed = await client.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM Items WHERE Bucket = @b").Add("b", bucket), cancellationToken: Ct);
        Assert.Equal(3, committed[0].Get<long>(0));
    }

    [Fact]
    public async Task RunInTransaction_ConcurrentReadThenWriteIncrements_AllLand()
    {
        const int Workers = 8;
        const int IncrementsPerWorker = 5;
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var counter = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 0L)], Ct);
        var abortsBefore = client.Statistics.Aborts;

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < IncrementsPerWorker; i++)
            {
                await client.RunInTransactionAsync(async (tx, ct) =>
                {
                    var rows = await tx.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = @n").Add("n", counter), ct);
                    tx.BufferWrite(SpannerMutation.Update("Counters").Set("Name", counter).Set("Value", rows[0].Get<long>(0) + 1));
                    return 0;
                }, Ct);
            }
        }, Ct)));

        TestContext.Current.TestOutputHelper?.WriteLine($"commits={client.Statistics.Commits} aborts={client.Statistics.Aborts} transactions={client.Statistics.Transactions}");
        var final = await client.QueryListAsync(new SpannerStatement("SELECT Value FROM Counters WHERE Name = @n").Add("n", counter), cancellationToken: Ct);
        Assert.Equal(Workers * IncrementsPerWorker, final[0].Get<long>(0));
        Assert.True(client.Statistics.Aborts > abortsBefore, "the emulator runs one read-write transaction at a time, so some must have aborted");
    }

    [Fact]
    public async Task WriteAsync_ReturnsTheCommitTimestamp()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var id = Guid.NewGuid().ToString();
        var before = DateTimeOffset.UtcNow.AddMinutes(-1);

        var commitTimestamp = await client.WriteAsync(
            [SpannerMutation.Insert("AllTypes").Set("Id", id).Set("CommittedAt", SpannerCommitTimestamp.Value)], Ct);

        Assert.InRange(commitTimestamp, before, DateTimeOffset.UtcNow.AddMinutes(1));
        var row = Assert.Single(await client.QueryListAsync(new SpannerStatement("SELECT CommittedAt FROM AllTypes WHERE Id = @id").Add("id", id), cancellationToken: Ct));
        Assert.Equal(commitTimestamp, row.Get<DateTimeOffset>(0));
    }

    [Fact]
    public async Task RunInTransaction_CommitTimestamp_IsSetAfterCommit()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        SpannerTransaction? last = null;

        await client.RunInTransactionAsync((tx, _) =>
        {
            last = tx;
            Assert.Null(tx.CommitTimestamp);
            tx.BufferWrite(SpannerMutation.InsertOrUpdate("Counters").Set("Name", Guid.NewGuid().ToString("N")).Set("Value", 1L));
            return Task.FromResult(0);
        }, Ct);

        Assert.NotNull(last?.CommitTimestamp);
    }

    [Fact]
    public async Task RunInTransaction_WorkWithoutResult_ReturnsTheCommitTimestampItWrote()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var id = Guid.NewGuid().ToString();

        var committed = await client.RunInTransactionAsync(async (tx, ct) =>
        {
            await tx.ExecuteDmlAsync(new SpannerStatement("INSERT INTO AllTypes (Id, CommittedAt) VALUES (@id, PENDING_COMMIT_TIMESTAMP())").Add("id", id), ct);
        }, Ct);

        var row = Assert.Single(await client.QueryListAsync(new SpannerStatement("SELECT CommittedAt FROM AllTypes WHERE Id = @id").Add("id", id), cancellationToken: Ct));
        Assert.Equal(committed, row.Get<DateTimeOffset>(0));
    }

    [Fact]
    public async Task DeleteRange_KeyPrefix_DeletesOnlyThatPrefix()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var doomed = Guid.NewGuid().ToString("N");
        var kept = Guid.NewGuid().ToString("N");
        await client.WriteAsync(
        [
            .. Enumerable.Range(0, 3).Select(i => SpannerMutation.Insert("Items").Set("Bucket", doomed).Set("Id", $"{i}")),
            SpannerMutation.Insert("Items").Set("Bucket", kept).Set("Id", "0"),
        ], Ct);

        await client.WriteAsync([SpannerMutation.DeleteRange("Items", SpannerKey.Of(doomed))], Ct);

        var rows = await client.QueryListAsync(
            new SpannerStatement("SELECT Bucket FROM Items WHERE Bucket IN UNNEST(@buckets)").Add("buckets", new[] { doomed, kept }), cancellationToken: Ct);
        Assert.Equal([kept], rows.Select(r => r.Get<string>(0)));
    }

    [Fact]
    public async Task Delete_ByKey_DeletesThatRow()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var bucket = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", "a"), SpannerMutation.Insert("Items").Set("Bucket", bucket).Set("Id", "b")], Ct);

        await client.WriteAsync([SpannerMutation.Delete("Items", SpannerKey.Of(bucket, "a"))], Ct);

        var rows = await client.QueryListAsync(new SpannerStatement("SELECT Id FROM Items WHERE Bucket = @b").Add("b", bucket), cancellationToken: Ct);
        Assert.Equal(["b"], rows.Select(r => r.Get<string>(0)));
    }

    [Fact]
    public async Task RunInTransaction_WorkThrows_RollsBackAndPropagates()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var bucket = Guid.NewGuid().ToString("N");

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.RunInTransactionAsync<int>(async (tx, ct) =>
        {
            await tx.ExecuteDmlAsync(new SpannerStatement("INSERT INTO Items (Bucket, Id) VALUES (@b, 'x')").Add("b", bucket), ct);
            throw new InvalidOperationException("changed my mind");
        }, Ct));

        var rows = await client.QueryListAsync(new SpannerStatement("SELECT Id FROM Items WHERE Bucket = @b").Add("b", bucket), cancellationToken: Ct);
        Assert.Empty(rows);
    }

    [Fact]
    public async Task WriteAsync_DuplicateInsert_SurfacesAlreadyExists()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));
        var counter = Guid.NewGuid().ToString("N");
        await client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 1L)], Ct);

        var error = await Assert.ThrowsAsync<SpannerException>(() =>
            client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", counter).Set("Value", 2L)], Ct));

        Assert.Equal(SpannerErrorCode.AlreadyExists, error.ErrorCode);
        Assert.False(error.IsRetryable);
        Assert.IsType<RpcException>(error.InnerException);
    }

    [Fact]
    public async Task WriteAsync_UpdateOfAMissingRow_SurfacesNotFound()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));

        var error = await Assert.ThrowsAsync<SpannerException>(() =>
            client.WriteAsync([SpannerMutation.Update("Counters").Set("Name", Guid.NewGuid().ToString("N")).Set("Value", 1L)], Ct));

        Assert.Equal(SpannerErrorCode.NotFound, error.ErrorCode);
        Assert.False(error.IsRetryable);
    }

    [Fact]
    public async Task WriteAsync_NullInANotNullColumn_SurfacesFailedPrecondition()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerTransactionTests));

        var error = await Assert.ThrowsAsync<SpannerException>(() =>
            client.WriteAsync([SpannerMutation.Insert("Counters").Set("Name", Guid.NewGuid().ToString("N")).Set("Value", null)], Ct));

        Assert.Equal(SpannerErrorCode.FailedPrecondition, error.ErrorCode);
        Assert.False(error.IsRetryable);
    }
}
