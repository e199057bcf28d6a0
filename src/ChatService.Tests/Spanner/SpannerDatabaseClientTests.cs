using Grpc.Core;
using Spanner.Client;
using Spanner.Client.Internal;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>The client's behaviour around the wire, against <see cref="FakeSpannerServer"/> and a fake clock.</summary>
public sealed partial class SpannerDatabaseClientTests : IAsyncDisposable
{
    private readonly FakeSpannerServer _server = new();
    private readonly RecordingTimeProvider _time = new();
    private readonly SpannerDatabaseClient _client;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public SpannerDatabaseClientTests()
    {
        _client = SpannerDatabaseClient.Create(
            new SpannerClientOptions
            {
                ProjectId = "p",
                InstanceId = "i",
                DatabaseId = "d",
                MinSessions = 1,
                MaxSessions = 4,
                TransactionTimeout = TimeSpan.FromSeconds(10),
                SessionKeepAliveInterval = TimeSpan.FromMinutes(20),
            },
            _server,
            _time);
    }

    [Fact]
    public async Task ReadWriteCalls_CarryRoutingAndRouteToLeaderHeaders()
    {
        await _client.RunInTransactionAsync(async (tx, ct) =>
        {
            await tx.ExecuteDmlAsync(new SpannerStatement("UPDATE T SET V = 1 WHERE TRUE"), ct);
            return await tx.QueryListAsync(new SpannerStatement("SELECT 1"), ct);
        }, Ct);

        var session = ((V1.BeginTransactionRequest)_server.CallsTo("BeginTransaction").Single().Request).Session;
        foreach (var method in new[] { "BeginTransaction", "ExecuteSql", "ExecuteStreamingSql", "Commit" })
        {
            var headers = _server.CallsTo(method).Single().Headers;
            Assert.Equal(FakeSpannerServer.Database, headers.GetValue(RoutingHeaders.ResourcePrefix));
            Assert.Equal($"session={Uri.EscapeDataString(session)}", headers.GetValue(RoutingHeaders.RequestParams));
            Assert.Equal("true", headers.GetValue(RoutingHeaders.RouteToLeader));
        }

        var create = _server.CallsTo("BatchCreateSessions").Single().Headers;
        Assert.Equal($"database={Uri.EscapeDataString(FakeSpannerServer.Database)}", create.GetValue(RoutingHeaders.RequestParams));
        Assert.Equal("true", create.GetValue(RoutingHeaders.RouteToLeader));
    }

    [Fact]
    public async Task SingleUseQuery_StaleBound_SendsReadOnlyOptionsWithoutRouteToLeader()
    {
        await _client.QueryListAsync(new SpannerStatement("SELECT 1"), TimestampBound.ExactStaleness(TimeSpan.FromSeconds(15)), Ct);

        var (request, headers) = _server.CallsTo("ExecuteStreamingSql").Single();
        var readOnly = ((V1.ExecuteSqlRequest)request).Transaction.SingleUse.ReadOnly;
        Assert.Equal(TimeSpan.FromSeconds(15), readOnly.ExactStaleness.ToTimeSpan());
        Assert.Null(headers.GetValue(RoutingHeaders.RouteToLeader));
        Assert.StartsWith("session=", headers.GetValue(RoutingHeaders.RequestParams));
    }

    [Fact]
    public async Task SingleUseQuery_DefaultBound_IsStrong()
    {
        await _client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);

        var request = (V1.ExecuteSqlRequest)_server.CallsTo("ExecuteStreamingSql").Single().Request;
        Assert.True(request.Transaction.SingleUse.ReadOnly.Strong);
    }

    [Fact]
    public async Task SingleUseQuery_UnavailableBeforeTheFirstRow_IsRetried()
    {
        var calls = 0;
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => ++calls == 1
            ? throw new RpcException(new Status(StatusCode.Unavailable, "try again"))
            : new[] { FakeSpannerServer.SingleInt64Row(7) });

        var rows = await _time.DriveAsync(_client.QueryListAsync(new SpannerStatement("SELECT 7"), cancellationToken: Ct));

        Assert.Equal(7, rows[0].Get<long>(0));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task SingleUseQuery_UnavailableAfterARow_Propagates()
    {
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => RowThenFailure());
        var seen = new List<long>();

        var error = await Assert.ThrowsAsync<SpannerException>(async () =>
        {
            await foreach (var row in _client.QueryAsync(new SpannerStatement("SELECT v FROM T"), cancellationToken: Ct))
            {
                seen.Add(row.Get<long>(0));
            }
        });

        Assert.Equal(SpannerErrorCode.Unavailable, error.ErrorCode);
        Assert.Equal([1L], seen);
        Assert.Single(_server.CallsTo("ExecuteStreamingSql"));

        static IEnumerable<V1.PartialResultSet> RowThenFailure()
        {
            yield return FakeSpannerServer.SingleInt64Row(1);
            throw new RpcException(new Status(StatusCode.Unavailable, "connection reset"));
        }
    }

    [Fact]
    public async Task SingleUseQuery_SessionNotFound_DiscardsItAndRetriesOnANewSession()
    {
        await _client.WarmUpAsync(Ct);
        var lost = Assert.Single(_client.Pool.IdleSessionNames);
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", r => r.Session == lost
            ? throw FakeSpannerServer.SessionNotFound(lost)
            : new[] { FakeSpannerServer.SingleInt64Row(3) });

        var rows = await _client.QueryListAsync(new SpannerStatement("SELECT 3"), cancellationToken: Ct);

        Assert.Equal(3, rows[0].Get<long>(0));
        Assert.DoesNotContain(lost, _client.Pool.IdleSessionNames);
        Assert.Equal(1, _client.Pool.Count);
    }

    [Fact]
    public async Task WarmUp_ServerReturnsFewerSessionsThanAsked_KeepsCallingUntilItHasThemAll()
    {
        _server.MaxSessionsPerBatch = 2;
        await using var client = SpannerDatabaseClient.Create(
            new SpannerClientOptions { ProjectId = "p", InstanceId = "i", DatabaseId = "d", MinSessions = 5 }, _server, _time);

        await client.WarmUpAsync(Ct);

        Assert.Equal(5, client.Statistics.SessionsCreated);
        Assert.Equal([5, 3, 1], _server.CallsTo("BatchCreateSessions").Select(c => ((V1.BatchCreateSessionsRequest)c.Request).SessionCount));
    }

    [Fact]
    public async Task KeepAlive_SessionIdleLongerThanTheInterval_GetsSelectOne()
    {
        await _client.WarmUpAsync(Ct);
        var session = Assert.Single(_client.Pool.IdleSessionNames);

        _time.Advance(TimeSpan.FromMinutes(19));
        Assert.Empty(_server.CallsTo("ExecuteSql"));
        _time.Advance(TimeSpan.FromMinutes(2));
        await WaitUntilAsync(() => _server.CallsTo("ExecuteSql").Any());

        var ping = (V1.ExecuteSqlRequest)_server.CallsTo("ExecuteSql").Single().Request;
        Assert.Equal(("SELECT 1", session), (ping.Sql, ping.Session));
        Assert.Equal(0, _client.Statistics.Queries);
    }

    [Fact]
    public async Task MaxSessions_AllInUse_NextCallerWaitsAndHonoursCancellation()
    {
        var gate = new TaskCompletionSource();
        var busy = Enumerable.Range(0, 4).Select(_ => _client.RunInTransactionAsync(async (_, _) =>
        {
            await gate.Task;
            return 0;
        }, Ct)).ToList();
        await WaitUntilAsync(() => _server.CallsTo("BeginTransaction").Count() == 4);
        using var cts = new CancellationTokenSource();

        var waiting = _client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: cts.Token);
        await Task.Delay(50, Ct);
        Assert.False(waiting.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        gate.SetResult();
        await Task.WhenAll(busy);
        Assert.Equal(4, _client.Statistics.SessionsCreated);
    }

    [Fact]
    public async Task Create_WithoutEmulatorOrCredentials_DoesNotThrowUntilACallIsMade()
    {
        var options = new SpannerClientOptions { ProjectId = "p", InstanceId = "i", DatabaseId = "d" };

        await using var client = SpannerDatabaseClient.Create(options);
        await using var admin = SpannerAdminClient.Create(options);

        Assert.Equal("projects/p/instances/i/databases/d", client.DatabasePath);
    }

    public async ValueTask DisposeAsync() => await _client.DisposeAsync();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(5, Ct);
        }
    }
}
