using ChatService.Chats;
using ChatService.Privacy;
using ChatService.Storage;
using Grpc.Core;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Privacy;

/// <summary>
/// DeleteMyData's rules that need no stack: which category a run's failure is stored under (Spanner's refusal
/// of a commit for its mutations among them), which refused batches can be halved, and what of a stored
/// failure a caller sees.
/// </summary>
public sealed class DataDeletionBatchRulesTests
{
    [Fact]
    public void SpannersRefusalForMutations_IsStoredAsAMutationLimit_AndOtherRefusalsAsRejected()
    {
        // Which messages are Spanner's refusals for mutations is SpannerErrors' rule (SpannerErrorsTests).
        var refusal = SpannerErrors.ToStorage(new SpannerException(StatusCode.InvalidArgument, "The transaction contains too many mutations. (Maximum number: 80000)"));
        var tooLong = SpannerErrors.ToStorage(new SpannerException(StatusCode.InvalidArgument, "New value exceeds the maximum size limit for this column in this database: Chats.Title"));

        Assert.Equal(DataDeletionErrorCategory.MutationLimit, DataDeletionErrors.Category(refusal));
        Assert.StartsWith("[mutation_limit] StorageException: ", DataDeletionErrors.Stored(refusal), StringComparison.Ordinal);
        Assert.Equal(DataDeletionErrorCategory.StorageRejected, DataDeletionErrors.Category(tooLong));
    }

    /// <summary>One failure for each rule of <see cref="DataDeletionErrors.Category"/>, with the category it maps to.</summary>
    private static readonly Dictionary<string, (Exception Failure, DataDeletionErrorCategory Category)> Failures = new()
    {
        ["mutations"] = (new StorageException(StorageErrorKind.Rejected, "InvalidArgument", "The transaction contains too many mutations."), DataDeletionErrorCategory.MutationLimit),
        ["rejected"] = (new StorageException(StorageErrorKind.Rejected, "InvalidArgument", "Syntax error"), DataDeletionErrorCategory.StorageRejected),
        ["spanner down"] = (new StorageException(StorageErrorKind.Unavailable, "Unavailable", "Connection refused"), DataDeletionErrorCategory.StorageUnavailable),
        ["spanner slow"] = (new StorageException(StorageErrorKind.DeadlineExceeded, "DeadlineExceeded", "Deadline exceeded"), DataDeletionErrorCategory.StorageUnavailable),
        ["cache unreachable"] = (new ChatException(ChatErrorKind.Unavailable, "the cache is unreachable"), DataDeletionErrorCategory.CacheUnavailable),
        ["redis"] = (new RedisException("No connection is available to service this operation"), DataDeletionErrorCategory.CacheUnavailable),
        ["redis slow"] = (new TimeoutException("The operation has timed out."), DataDeletionErrorCategory.CacheUnavailable),
        ["other chat error"] = (new ChatException(ChatErrorKind.NotFound, "chat not found"), DataDeletionErrorCategory.Internal),
        ["bug"] = (new InvalidOperationException("table Secrets column X"), DataDeletionErrorCategory.Internal),
    };

    public static TheoryData<string> FailureNames => [.. Failures.Keys];

    [Theory]
    [MemberData(nameof(FailureNames))]
    public void EachFailure_IsStoredUnderItsCategory_AndCallersSeeThatCategory(string failure)
    {
        var (exception, category) = Failures[failure];
        var stored = DataDeletionErrors.Stored(exception);

        Assert.Equal(category, DataDeletionErrors.Category(exception));
        Assert.StartsWith($"[{DataDeletionErrors.Name(category)}] {exception.GetType().Name}: ", stored, StringComparison.Ordinal);
        Assert.Equal(DataDeletionErrors.Name(category), DataDeletionErrors.Public(stored));
    }

    [Fact]
    public void EveryCategoryTheMapperCanProduce_IsShownToCallers_UnderItsStoredName()
    {
        // The failures above reach every category there is: a category added without a failure that maps to it fails here.
        Assert.Equal(Enum.GetValues<DataDeletionErrorCategory>().ToHashSet(), Failures.Values.Select(f => DataDeletionErrors.Category(f.Failure)).ToHashSet());

        foreach (var category in Enum.GetValues<DataDeletionErrorCategory>())
        {
            var name = DataDeletionErrors.Name(category);
            Assert.Matches("^[a-z]+(_[a-z]+)*$", name);
            Assert.Equal(name, DataDeletionErrors.Public($"[{name}] SomeException: some text"));
        }

        // The names are stored in DataDeletions.LastError and are the API's last_error values: they never change.
        Assert.Equal(
            ["storage_unavailable", "storage_rejected", "mutation_limit", "cache_unavailable", "internal"],
            Enum.GetValues<DataDeletionErrorCategory>().Select(DataDeletionErrors.Name));
    }

    [Theory]
    // Chats and imports halve while the budget can, even a batch of one (a big chat then goes a few turns at a time).
    [InlineData("chat", 1, 20_000, true)]
    [InlineData("import", 1, 32, true)]
    [InlineData("chat", 5, 16, false)]
    // Turns, lorebooks and characters: only more than one.
    [InlineData("turn", 2, 32, true)]
    [InlineData("turn", 1, 20_000, false)]
    [InlineData("turn", 4, 16, false)]
    [InlineData("lorebook", 2, 16, true)]
    [InlineData("lorebook", 1, 20_000, false)]
    [InlineData("character", 1, 20_000, false)]
    [InlineData("persona", 2, 20_000, false)]
    public void WhatCanBeHalved(string kind, int items, int budget, bool halves)
    {
        Assert.Equal(halves, DataDeletionRunner.CanHalve(kind, items, budget));
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("[storage_unavailable] StorageException: Unavailable: connection refused to 10.0.0.7:9010", "storage_unavailable")]
    [InlineData("[cache_unavailable] ChatException: the cache is unreachable", "cache_unavailable")]
    [InlineData("[mutation_limit] StorageException: The transaction contains too many mutations.", "mutation_limit")]
    [InlineData("[storage_rejected] StorageException: Syntax error", "storage_rejected")]
    [InlineData("[internal] NullReferenceException: Object reference not set to an instance of an object.", "internal")]
    // Stored before categories (or tampered with): never shown as it is.
    [InlineData("InvalidOperationException: table Secrets column X", "internal")]
    [InlineData("[some text] with brackets", "internal")]
    [InlineData("[MutationLimit] StorageException: a name that is not a stored one", "internal")]
    [InlineData("[] nothing", "internal")]
    public void CallersSeeOnlyTheCategoryOfAStoredError(string? stored, string shown)
    {
        Assert.Equal(shown, DataDeletionErrors.Public(stored));
    }
}
