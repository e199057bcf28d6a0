using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Spanner.Client;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>The client's own call retries follow the same classification it exposes.</summary>
public sealed partial class SpannerDatabaseClientTests
{
    [Fact]
    public async Task Call_ResourceExhaustedWithRetryInfo_IsRetriedAfterTheServersDelay()
    {
        var begins = 0;
        _server.Handle<V1.BeginTransactionRequest>("BeginTransaction", _ => ++begins == 1
            ? throw ResourceExhausted(TimeSpan.FromMilliseconds(900))
            : new V1.Transaction { Id = ByteString.CopyFromUtf8("tx") });

        await _time.DriveAsync(_client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1L)], Ct));

        Assert.Equal(2, begins);
        Assert.Equal([TimeSpan.FromMilliseconds(900)], _time.Delays);
    }

    [Fact]
    public async Task Call_ResourceExhaustedWithoutRetryInfo_FailsAtOnceAsNotRetryable()
    {
        _server.Handle<V1.BeginTransactionRequest>("BeginTransaction", _ => throw ResourceExhausted(null));

        var error = await Assert.ThrowsAsync<SpannerException>(() => _client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1L)], Ct));

        Assert.Equal(SpannerErrorCode.ResourceExhausted, error.ErrorCode);
        Assert.False(error.IsRetryable);
        Assert.Single(_server.CallsTo("BeginTransaction"));
    }

    [Fact]
    public async Task Call_InternalFromAResetStream_IsRetried_OtherInternalErrorsAreNot()
    {
        var commits = 0;
        _server.Handle<V1.CommitRequest>("Commit", _ => ++commits == 1
            ? throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, "Received unexpected EOS on DATA frame from server."))
            : new V1.CommitResponse { CommitTimestamp = Timestamp.FromDateTimeOffset(_server.CommitTimestamp) });

        var committed = await _time.DriveAsync(_client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1L)], Ct));

        Assert.Equal(_server.CommitTimestamp, committed);
        Assert.Equal(2, commits);

        _server.Handle<V1.CommitRequest>("Commit", _ => throw new RpcException(new Grpc.Core.Status(StatusCode.Internal, "Assertion failed")));
        var error = await Assert.ThrowsAsync<SpannerException>(() => _client.WriteAsync([SpannerMutation.Insert("T").Set("K", 2L)], Ct));
        Assert.False(error.IsRetryable);
        Assert.Equal(3, _server.CallsTo("Commit").Count());
    }

    [Fact]
    public async Task RunInTransaction_WorkWithoutResult_CommitsAndReturnsTheCommitTimestamp()
    {
        var ran = 0;

        var committed = await _client.RunInTransactionAsync(async (tx, ct) =>
        {
            ran++;
            await tx.ExecuteDmlAsync(new SpannerStatement("UPDATE T SET V = 1 WHERE TRUE"), ct);
        }, Ct);

        Assert.Equal(1, ran);
        Assert.Equal(_server.CommitTimestamp, committed);
        Assert.Single(_server.CallsTo("Commit"));
    }

    private static RpcException ResourceExhausted(TimeSpan? retryDelay)
    {
        var trailers = new Metadata();
        if (retryDelay is { } delay)
        {
            trailers.Add("google.rpc.retryinfo-bin", new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }.ToByteArray());
        }

        return new RpcException(new Grpc.Core.Status(StatusCode.ResourceExhausted, "Too many requests."), trailers);
    }
}
