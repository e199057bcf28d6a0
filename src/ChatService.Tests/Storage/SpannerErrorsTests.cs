using ChatService.Chats;
using ChatService.Storage;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>The domain sees a Spanner failure with the client's own classification, under its own kinds.</summary>
public sealed class SpannerErrorsTests
{
    public static TheoryData<StatusCode, string, int?, StorageErrorKind, bool> Failures => new()
    {
        { StatusCode.Aborted, "Transaction was aborted.", null, StorageErrorKind.Unavailable, true },
        { StatusCode.Unavailable, "Connection refused", null, StorageErrorKind.Unavailable, true },
        { StatusCode.Internal, "stream terminated by RST_STREAM with error code: INTERNAL_ERROR", null, StorageErrorKind.Unavailable, true },
        { StatusCode.Internal, "Malformed streaming result", null, StorageErrorKind.Unavailable, false },
        { StatusCode.NotFound, "Session not found", null, StorageErrorKind.Unavailable, false },
        { StatusCode.ResourceExhausted, "Too many requests", 1500, StorageErrorKind.ResourceExhausted, true },
        { StatusCode.ResourceExhausted, "No more sessions", null, StorageErrorKind.ResourceExhausted, false },
        { StatusCode.DeadlineExceeded, "Deadline exceeded", null, StorageErrorKind.DeadlineExceeded, false },
        // Our statement or credentials are at fault: the API treats these as bugs (INTERNAL).
        { StatusCode.InvalidArgument, "Syntax error", null, StorageErrorKind.Rejected, false },
        { StatusCode.FailedPrecondition, "Cannot specify a null value for column: T.V", null, StorageErrorKind.Rejected, false },
        { StatusCode.PermissionDenied, "Caller is missing IAM permission", null, StorageErrorKind.Rejected, false },
        { StatusCode.Unauthenticated, "Invalid credentials", null, StorageErrorKind.Rejected, false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void ToStorage_KeepsTheClientsClassification(StatusCode status, string detail, int? retryDelayMs, StorageErrorKind kind, bool retryable)
    {
        var retryDelay = retryDelayMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
        var spanner = new SpannerException(status, detail, retryDelay: retryDelay);

        var storage = SpannerErrors.ToStorage(spanner);

        Assert.Equal(kind, storage.Kind);
        Assert.Equal(spanner.IsRetryable, storage.IsRetryable);
        Assert.Equal(retryable, storage.IsRetryable);
        Assert.Equal(retryDelay, storage.RetryDelay);
        Assert.Equal(spanner.ErrorCode.ToString(), storage.Code);
        Assert.Equal(spanner.Message, storage.Message);
        Assert.Same(spanner, storage.InnerException);
    }

    [Fact]
    public void ServerDelay_ReadsTheRawClientErrorForTheMigrationLoops()
    {
        var slowDown = new SpannerException(StatusCode.Aborted, "aborted", retryDelay: TimeSpan.FromSeconds(2));

        Assert.Equal(TimeSpan.FromSeconds(2), SpannerErrors.ServerDelay(slowDown));
        Assert.Null(SpannerErrors.ServerDelay(new SpannerException(StatusCode.Aborted, "aborted")));
        Assert.Null(SpannerErrors.ServerDelay(new InvalidOperationException()));
    }
}
