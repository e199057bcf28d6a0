using Grpc.Core;
using Spanner.Client;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>Read-write transactions: retry on ABORTED, rollback, DML sequence numbers.</summary>
public sealed partial class SpannerDatabaseClientTests
{
    [Fact]
    public async Task RunInTransaction_WorkThrows_RollsBackAndPropagatesWithoutCommitting()
    {
        var thrown = new InvalidOperationException("boom");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _client.RunInTransactionAsync<int>((_, _) => throw thrown, Ct));

        Assert.Same(thrown, error);
        var (rollback, _) = Assert.Single(_server.CallsTo("Rollback"));
        Assert.Equal("tx1", ((V1.RollbackRequest)rollback).TransactionId.ToStringUtf8());
        Assert.Empty(_server.CallsTo("Commit"));
        Assert.Equal(1, _client.Statistics.Transactions);
    }

    [Fact]
    public async Task RunInTransaction_CommitAbortedWithRetryInfo_RollsBackWaitsAndRerunsWithANewTransaction()
    {
        var commits = 0;
        _server.Handle<V1.CommitRequest>("Commit", _ => ++commits == 1
            ? throw FakeSpannerServer.Aborted(TimeSpan.FromMilliseconds(250))
            : new V1.CommitResponse { CommitTimestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_server.CommitTimestamp) });
        var runs = 0;

        var result = await _time.DriveAsync(_client.RunInTransactionAsync((tx, _) =>
        {
            tx.BufferWrite(SpannerMutation.Insert("T").Set("K", ++runs));
            return Task.FromResult(runs);
        }, Ct));

        Assert.Equal(2, result);
        Assert.Equal([TimeSpan.FromMilliseconds(250)], _time.Delays);
        Assert.Equal(["tx1", "tx2"], _server.CallsTo("Commit").Select(c => ((V1.CommitRequest)c.Request).TransactionId.ToStringUtf8()));
        Assert.Equal("tx1", ((V1.RollbackRequest)Assert.Single(_server.CallsTo("Rollback")).Request).TransactionId.ToStringUtf8());
        var lastCommit = (V1.CommitRequest)_server.CallsTo("Commit").Last().Request;
        Assert.Equal("2", Assert.Single(lastCommit.Mutations).Insert.Values[0].Values[0].StringValue);
        Assert.Equal((1, 1, 2), (_client.Statistics.Aborts, _client.Statistics.Commits, _client.Statistics.Transactions));
    }

    [Fact]
    public async Task RunInTransaction_QueryAborted_RerunsTheWork()
    {
        var queries = 0;
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => ++queries == 1
            ? throw FakeSpannerServer.Aborted()
            : new[] { FakeSpannerServer.SingleInt64Row(41) });

        var value = await _time.DriveAsync(_client.RunInTransactionAsync(async (tx, ct) =>
            (await tx.QueryListAsync(new SpannerStatement("SELECT v FROM T"), ct))[0].Get<long>(0) + 1, Ct));

        Assert.Equal(42, value);
        Assert.Single(_time.Delays);
        Assert.Single(_server.CallsTo("Rollback"));
        Assert.Single(_server.CallsTo("Commit"));
    }

    [Fact]
    public async Task RunInTransaction_CommitFailsWithOtherError_IsNotRetried()
    {
        _server.Handle<V1.CommitRequest>("Commit", _ => throw new RpcException(new Status(StatusCode.AlreadyExists, "Row exists")));

        var error = await Assert.ThrowsAsync<SpannerException>(() => _client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1)], Ct));

        Assert.Equal(SpannerErrorCode.AlreadyExists, error.ErrorCode);
        Assert.Single(_server.CallsTo("BeginTransaction"));
        Assert.Empty(_time.Delays);
    }

    [Fact]
    public async Task RunInTransaction_AbortsUntilTheTimeout_GivesUpWithAborted()
    {
        _server.Handle<V1.CommitRequest>("Commit", _ => throw FakeSpannerServer.Aborted());

        var error = await Assert.ThrowsAsync<SpannerException>(() => _time.DriveAsync(_client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1)], Ct)));

        Assert.Equal(SpannerErrorCode.Aborted, error.ErrorCode);
        Assert.Contains("Gave up", error.Message);
        Assert.True(_client.Statistics.Aborts > 5);
        Assert.Equal(_client.Statistics.Aborts, _server.CallsTo("Rollback").Count());
    }

    [Fact]
    public async Task ExecuteDml_SeveralStatements_IncrementSeqnoAndReturnRowCounts()
    {
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteSql", r => new V1.ResultSet { Stats = new V1.ResultSetStats { RowCountExact = r.Seqno * 10 } });

        var counts = await _client.RunInTransactionAsync(async (tx, ct) => new[]
        {
            await tx.ExecuteDmlAsync(new SpannerStatement("DELETE FROM T WHERE TRUE"), ct),
            await tx.ExecuteDmlAsync(new SpannerStatement("DELETE FROM U WHERE TRUE"), ct),
        }, Ct);

        Assert.Equal([10L, 20L], counts);
        Assert.Equal([1L, 2L], _server.CallsTo("ExecuteSql").Select(c => ((V1.ExecuteSqlRequest)c.Request).Seqno));
        Assert.All(_server.CallsTo("ExecuteSql"), c => Assert.Equal("tx1", ((V1.ExecuteSqlRequest)c.Request).Transaction.Id.ToStringUtf8()));
    }
}
