using System.Diagnostics;
using ChatService.Tests.Spanner;
using Spanner.Client;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Telemetry;

/// <summary>The Spanner client's spans, against <see cref="FakeSpannerServer"/>: a span per RPC under a span per transaction.</summary>
public sealed class SpannerTracingTests : IAsyncDisposable
{
    private readonly FakeSpannerServer _server = new();
    private readonly RecordingTimeProvider _time = new();
    private readonly SpannerDatabaseClient _client;
    private readonly SpanRecorder _spans = new();
    private readonly ActivitySource _test = new("ChatService.Tests.SpannerTracing");
    private readonly ActivityListener _testListener;

    public SpannerTracingTests()
    {
        _client = SpannerDatabaseClient.Create(
            new SpannerClientOptions { ProjectId = "p", InstanceId = "i", DatabaseId = "d", MinSessions = 1, MaxSessions = 4 },
            _server,
            _time);
        _testListener = new ActivityListener
        {
            ShouldListenTo = source => source == _test,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_testListener);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AbortedCommit_ShowsAsARetryEventAndAFailedCommitSpanInOneTransactionSpan()
    {
        var commits = 0;
        _server.Handle<V1.CommitRequest>("Commit", _ => ++commits == 1
            ? throw FakeSpannerServer.Aborted(TimeSpan.FromMilliseconds(250))
            : new V1.CommitResponse { CommitTimestamp = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_server.CommitTimestamp) });
        using var root = _test.StartActivity("test");
        Assert.NotNull(root);

        await _time.DriveAsync(_client.RunInTransactionAsync((tx, _) =>
        {
            tx.BufferWrite(SpannerMutation.Insert("T").Set("K", 1));
            return Task.FromResult(true);
        }, Ct));

        var trace = _spans.Stopped.Where(s => s.TraceId == root.TraceId).ToList();
        var transaction = Assert.Single(trace, s => s.OperationName == "spanner.transaction");
        Assert.Equal(root.SpanId, transaction.ParentSpanId);
        Assert.Equal(2, transaction.GetTagItem("spanner.attempts"));
        Assert.Equal(1, transaction.GetTagItem("spanner.aborted_attempts"));
        var retry = Assert.Single(transaction.Events);
        Assert.Equal("retry", retry.Name);
        Assert.Contains(retry.Tags, t => t is { Key: "spanner.retry.reason", Value: "Aborted" });
        Assert.Contains(retry.Tags, t => t is { Key: "spanner.retry.delay_ms", Value: 250.0 });

        // The pool's first session is created inside the transaction that needed it.
        var rpcs = trace.Where(s => s.ParentSpanId == transaction.SpanId).ToList();
        Assert.Equal(
            ["spanner.BatchCreateSessions", "spanner.BeginTransaction", "spanner.Commit", "spanner.Rollback", "spanner.BeginTransaction", "spanner.Commit"],
            rpcs.OrderBy(s => s.StartTimeUtc).Select(s => s.OperationName));
        var failed = rpcs.Where(s => s.Status == ActivityStatusCode.Error).ToList();
        Assert.Equal("spanner.Commit", Assert.Single(failed).OperationName);
        Assert.Equal("Aborted", failed[0].GetTagItem("error.type"));
        Assert.Equal("projects/p/instances/i/databases/d", transaction.GetTagItem("db.namespace"));
    }

    [Fact]
    public async Task SingleUseQuery_IsAStreamingSqlSpanWithItsStatementAndRowCount()
    {
        _server.Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => new[] { FakeSpannerServer.SingleInt64Row(7) });
        using var root = _test.StartActivity("test");
        Assert.NotNull(root);

        await _client.QueryListAsync(new SpannerStatement("SELECT v FROM T"), cancellationToken: Ct);

        var query = Assert.Single(_spans.Stopped, s => s.TraceId == root.TraceId && s.OperationName == "spanner.ExecuteStreamingSql");
        Assert.Equal(ActivityKind.Client, query.Kind);
        Assert.Equal("SELECT v FROM T", query.GetTagItem("db.query.text"));
        Assert.Equal("single_use", query.GetTagItem("spanner.transaction.kind"));
        Assert.Equal(1L, query.GetTagItem("spanner.rows"));
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        _spans.Dispose();
        _testListener.Dispose();
        _test.Dispose();
    }
}
