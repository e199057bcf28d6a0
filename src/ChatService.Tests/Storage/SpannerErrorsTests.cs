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

    [Theory]
    // Spanner's messages for a commit over its mutation count and over its size.
    [InlineData("The transaction contains too many mutations. Insert and update operations count with the multiplicity of the number of columns they affect. For example, inserting values into one key column and four non-key columns count as five mutations total for the insert. Delete and delete range operations count as one mutation regardless of the number of columns affected. The total mutation count includes any changes to indexes that the transaction generates. Please reduce the number of writes, or use fewer indexes. (Maximum number: 80000)")]
    [InlineData("Transaction exceeds the maximum total bytes-size that can be handled by spanner. Please reduce the size or number of the writes, or use fewer indexes. (Maximum size: 104857600)")]
    public void SpannersRefusalsForMutations_AreTooManyMutations(string message)
    {
        // As Storage hands them on: the client's error made a StorageException.
        var refusal = SpannerErrors.ToStorage(new SpannerException(StatusCode.InvalidArgument, message));

        Assert.True(SpannerErrors.IsTooManyMutations(refusal));
        Assert.Equal(StorageErrorKind.Rejected, refusal.Kind);
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument, "New value exceeds the maximum size limit for this column in this database: Chats.Title, size: 1200, limit: 1024.")]
    [InlineData(StatusCode.InvalidArgument, "Invalid value for column ChatId in table Chats: Expected STRING.")]
    [InlineData(StatusCode.InvalidArgument, "Mutation for table Chats is missing primary key column ChatId.")]
    [InlineData(StatusCode.InvalidArgument, "Statement is too large.")]
    [InlineData(StatusCode.FailedPrecondition, "The transaction contains too many mutations.")]
    [InlineData(StatusCode.ResourceExhausted, "Transaction exceeds the maximum total bytes-size that can be handled by spanner.")]
    public void OtherRefusals_AreNotTooManyMutations(StatusCode status, string message)
    {
        Assert.False(SpannerErrors.IsTooManyMutations(SpannerErrors.ToStorage(new SpannerException(status, message))));
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
