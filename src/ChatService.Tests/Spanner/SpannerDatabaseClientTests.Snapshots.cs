using Google.Protobuf;
using Grpc.Core;
using Spanner.Client;
using Spanner.Client.Internal;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>Read-only snapshots on the wire: how they begin, what their queries carry, their session.</summary>
public sealed partial class SpannerDatabaseClientTests
{
    [Fact]
    public async Task BeginSnapshot_Default_BeginsAStrongReadOnlyTransactionAndReportsItsReadTimestamp()
    {
        await using var snapshot = await _client.BeginSnapshotAsync(cancellationToken: Ct);
        await snapshot.QueryListAsync(new SpannerStatement("SELECT 1"), Ct);
        await snapshot.QueryListAsync(new SpannerStatement("SELECT 2"), Ct);

        Assert.Equal(_server.ReadTimestamp, snapshot.ReadTimestamp);
        var (begin, beginHeaders) = Assert.Single(_server.CallsTo("BeginTransaction"));
        var readOnly = ((V1.BeginTransactionRequest)begin).Options.ReadOnly;
        Assert.True(readOnly.Strong);
        Assert.True(readOnly.ReturnReadTimestamp);
        Assert.Null(beginHeaders.GetValue(RoutingHeaders.RouteToLeader));
        var queries = _server.CallsTo("ExecuteStreamingSql").ToList();
        Assert.Equal(2, queries.Count);
        Assert.All(queries, q =>
        {
            var request = (V1.ExecuteSqlRequest)q.Request;
            Assert.Equal("tx1", request.Transaction.Id.ToStringUtf8());
            Assert.Equal(((V1.BeginTransactionRequest)begin).Session, request.Session);
            Assert.Null(q.Headers.GetValue(RoutingHeaders.RouteToLeader));
        });
        Assert.Empty(_server.CallsTo("Commit"));
        Assert.Empty(_server.CallsTo("Rollback"));
    }

    [Fact]
    public async Task BeginSnapshot_ExactStaleness_SendsTheBound()
    {
        await using var snapshot = await _client.BeginSnapshotAsync(TimestampBound.ExactStaleness(TimeSpan.FromSeconds(10)), Ct);

        var readOnly = ((V1.BeginTransactionRequest)_server.CallsTo("BeginTransaction").Single().Request).Options.ReadOnly;
        Assert.Equal(TimeSpan.FromSeconds(10), readOnly.ExactStaleness.ToTimeSpan());
        Assert.True(readOnly.ReturnReadTimestamp);
    }

    [Fact]
    public async Task BeginSnapshot_MaxStaleness_IsRefusedWithoutCallingSpanner()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => _client.BeginSnapshotAsync(TimestampBound.MaxStaleness(TimeSpan.FromSeconds(10)), Ct));

        Assert.Contains("single-use", error.Message);
        Assert.Empty(_server.Calls);
    }

    [Fact]
    public async Task BeginSnapshot_SessionNotFound_DiscardsItAndBeginsOnANewSession()
    {
        await _client.WarmUpAsync(Ct);
        var lost = Assert.Single(_client.Pool.IdleSessionNames);
        _server.Handle<V1.BeginTransactionRequest>("BeginTransaction", r => r.Session == lost
            ? throw FakeSpannerServer.SessionNotFound(lost)
            : new V1.Transaction { Id = ByteString.CopyFromUtf8("tx-ro"), ReadTimestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_server.ReadTimestamp) });

        await using (var snapshot = await _client.BeginSnapshotAsync(cancellationToken: Ct))
        {
            await snapshot.QueryListAsync(new SpannerStatement("SELECT 1"), Ct);
        }

        Assert.Equal(2, _server.CallsTo("BeginTransaction").Count());
        Assert.DoesNotContain(lost, _client.Pool.IdleSessionNames);
        Assert.Equal(1, _client.Pool.Count);
    }

    [Fact]
    public async Task SnapshotQuery_UnavailableBeforeTheFirstRow_IsRetriedInTheSameTransaction()
    {
        var calls = 0;
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => ++calls == 1
            ? throw new RpcException(new Status(StatusCode.Unavailable, "try again"))
            : new[] { FakeSpannerServer.SingleInt64Row(5) });
        await using var snapshot = await _client.BeginSnapshotAsync(cancellationToken: Ct);

        var rows = await _time.DriveAsync(snapshot.QueryListAsync(new SpannerStatement("SELECT 5"), Ct));

        Assert.Equal(5, rows[0].Get<long>(0));
        Assert.Equal(["tx1", "tx1"], _server.CallsTo("ExecuteStreamingSql").Select(c => ((V1.ExecuteSqlRequest)c.Request).Transaction.Id.ToStringUtf8()));
        Assert.Single(_server.CallsTo("BeginTransaction"));
    }

    [Fact]
    public async Task Snapshot_Disposed_ReturnsItsSessionAndRefusesFurtherQueries()
    {
        var snapshot = await _client.BeginSnapshotAsync(cancellationToken: Ct);
        var session = ((V1.BeginTransactionRequest)_server.CallsTo("BeginTransaction").Single().Request).Session;
        Assert.DoesNotContain(session, _client.Pool.IdleSessionNames);

        await snapshot.DisposeAsync();
        await snapshot.DisposeAsync();

        Assert.Equal([session], _client.Pool.IdleSessionNames);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => snapshot.QueryListAsync(new SpannerStatement("SELECT 1"), Ct));
    }

    [Fact]
    public async Task SnapshotQuery_SessionNotFound_PropagatesAndTheSessionIsDiscarded()
    {
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", r => throw FakeSpannerServer.SessionNotFound(r.Session));
        var snapshot = await _client.BeginSnapshotAsync(cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<SpannerException>(() => snapshot.QueryListAsync(new SpannerStatement("SELECT 1"), Ct));
        await snapshot.DisposeAsync();

        Assert.Equal(SpannerErrorCode.NotFound, error.ErrorCode);
        Assert.Empty(_client.Pool.IdleSessionNames);
        Assert.Equal(0, _client.Pool.Count);
    }
}
