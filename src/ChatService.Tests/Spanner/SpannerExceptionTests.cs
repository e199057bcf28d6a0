using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Spanner.Client;
using Spanner.Client.Internal;

namespace ChatService.Tests.Spanner;

/// <summary>How failures are classified: the error code, whether a retry may help, the server's retry delay.</summary>
public sealed class SpannerExceptionTests
{
    public static TheoryData<StatusCode, string, int?, SpannerErrorCode, bool> Failures => new()
    {
        // ABORTED: rerun the transaction. UNAVAILABLE: transient.
        { StatusCode.Aborted, "Transaction was aborted.", null, SpannerErrorCode.Aborted, true },
        { StatusCode.Unavailable, "Connection refused", null, SpannerErrorCode.Unavailable, true },
        // RESOURCE_EXHAUSTED only when the server says how long to back off.
        { StatusCode.ResourceExhausted, "Too many requests", 1500, SpannerErrorCode.ResourceExhausted, true },
        { StatusCode.ResourceExhausted, "No more sessions", null, SpannerErrorCode.ResourceExhausted, false },
        // INTERNAL only when it is a reset connection, in the words of gRPC Java and .NET.
        { StatusCode.Internal, "Received unexpected EOS on DATA frame from server.", null, SpannerErrorCode.Internal, true },
        { StatusCode.Internal, "stream terminated by RST_STREAM with error code: INTERNAL_ERROR", null, SpannerErrorCode.Internal, true },
        { StatusCode.Internal, "Error reading next message. HttpProtocolException: The HTTP/2 server reset the stream. HTTP/2 error code 'INTERNAL_ERROR' (0x2).", null, SpannerErrorCode.Internal, true },
        { StatusCode.Internal, "Malformed streaming result: chunked value of type INT64.", null, SpannerErrorCode.Internal, false },
        // The rest would fail again, or (a deadline) may repeat work that already took effect.
        { StatusCode.DeadlineExceeded, "Deadline exceeded", null, SpannerErrorCode.DeadlineExceeded, false },
        { StatusCode.NotFound, "Row [k] in table T is missing.", null, SpannerErrorCode.NotFound, false },
        { StatusCode.NotFound, "Session not found: projects/p/instances/i/databases/d/sessions/s", null, SpannerErrorCode.NotFound, false },
        { StatusCode.AlreadyExists, "Row [k] in table T already exists", null, SpannerErrorCode.AlreadyExists, false },
        { StatusCode.FailedPrecondition, "Cannot specify a null value for column: T.V", null, SpannerErrorCode.FailedPrecondition, false },
        { StatusCode.InvalidArgument, "Syntax error", null, SpannerErrorCode.InvalidArgument, false },
        { StatusCode.PermissionDenied, "Caller is missing IAM permission", null, SpannerErrorCode.PermissionDenied, false },
        { StatusCode.Unauthenticated, "Invalid credentials", null, SpannerErrorCode.Unauthenticated, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Classification_MatchesTheOfficialClients(StatusCode status, string detail, int? retryDelayMs, SpannerErrorCode expected, bool retryable)
    {
        var error = new SpannerException(status, detail, retryDelay: retryDelayMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null);

        Assert.Equal(expected, error.ErrorCode);
        Assert.Equal(retryable, error.IsRetryable);
        // Only ABORTED needs the whole transaction rerun; the other retryable failures may repeat just the call.
        Assert.Equal(retryable && expected != SpannerErrorCode.Aborted, error.IsTransient);
    }

    [Fact]
    public void ErrorCode_NamesEveryGrpcFailureCodeAlike()
    {
        foreach (var status in System.Enum.GetValues<StatusCode>().Where(c => c != StatusCode.OK))
        {
            Assert.Equal(status.ToString(), new SpannerException(status, "x").ErrorCode.ToString());
        }
    }

    [Fact]
    public void Translate_RetryInfoInItsOwnTrailer_IsTheRetryDelay()
    {
        var trailers = new Metadata { { "google.rpc.retryinfo-bin", RetryInfo(TimeSpan.FromMilliseconds(700)).ToByteArray() } };

        var error = Translate(StatusCode.ResourceExhausted, trailers);

        Assert.Equal(TimeSpan.FromMilliseconds(700), error.RetryDelay);
        Assert.True(error.IsRetryable);
    }

    [Fact]
    public void Translate_RetryInfoInTheRichStatus_IsTheRetryDelay()
    {
        var status = new Google.Rpc.Status { Code = (int)Code.Aborted, Message = "Transaction was aborted." };
        status.Details.Add(Any.Pack(RetryInfo(TimeSpan.FromSeconds(2))));
        var trailers = new Metadata { { "grpc-status-details-bin", status.ToByteArray() } };

        var error = Translate(StatusCode.Aborted, trailers);

        Assert.Equal(TimeSpan.FromSeconds(2), error.RetryDelay);
    }

    [Fact]
    public void Translate_MalformedOrMissingRetryInfo_HasNoRetryDelay()
    {
        var malformed = new Metadata { { "google.rpc.retryinfo-bin", [0xff, 0xff, 0xff] } };

        Assert.Null(Translate(StatusCode.ResourceExhausted, malformed).RetryDelay);
        Assert.Null(Translate(StatusCode.ResourceExhausted, []).RetryDelay);
        Assert.False(Translate(StatusCode.ResourceExhausted, malformed).IsRetryable);
    }

    [Fact]
    public void Translate_KeepsTheServersMessageAndTheRpcException()
    {
        var rpc = new RpcException(new Grpc.Core.Status(StatusCode.AlreadyExists, "Row [k] in table T already exists"));

        var error = Assert.IsType<SpannerException>(RpcErrors.Translate(rpc, CancellationToken.None));

        Assert.Equal(SpannerErrorCode.AlreadyExists, error.ErrorCode);
        Assert.Contains("Row [k] in table T already exists", error.Message);
        Assert.Same(rpc, error.InnerException);
    }

    private static RetryInfo RetryInfo(TimeSpan delay) => new() { RetryDelay = Duration.FromTimeSpan(delay) };

    private static SpannerException Translate(StatusCode code, Metadata trailers) =>
        Assert.IsType<SpannerException>(RpcErrors.Translate(new RpcException(new Grpc.Core.Status(code, "failed"), trailers), CancellationToken.None));
}
