using ChatService.Privacy;
using StorageErrorKind = ChatService.Chats.StorageErrorKind;
using StorageException = ChatService.Chats.StorageException;

namespace ChatService.Tests.Privacy;

/// <summary>
/// DeleteMyData's rules that need no stack: which Spanner refusals count as a batch over the mutation limit
/// (Spanner's own messages, nothing else of INVALID_ARGUMENT), which refused batches can be halved, and what
/// of a stored failure a caller sees.
/// </summary>
public sealed class DataDeletionBatchRulesTests
{
    [Theory]
    // Spanner's messages for a commit over its mutation count and over its size.
    [InlineData("The transaction contains too many mutations. Insert and update operations count with the multiplicity of the number of columns they affect. For example, inserting values into one key column and four non-key columns count as five mutations total for the insert. Delete and delete range operations count as one mutation regardless of the number of columns affected. The total mutation count includes any changes to indexes that the transaction generates. Please reduce the number of writes, or use fewer indexes. (Maximum number: 80000)")]
    [InlineData("Transaction exceeds the maximum total bytes-size that can be handled by spanner. Please reduce the size or number of the writes, or use fewer indexes. (Maximum size: 104857600)")]
    public void SpannersRefusalsForMutations_AreMutationLimits(string message)
    {
        var refusal = new StorageException(StorageErrorKind.Rejected, "InvalidArgument", message);

        Assert.True(DataDeletionRunner.IsTooManyMutations(refusal));
        Assert.Equal(DataDeletionErrors.MutationLimit, DataDeletionErrors.Category(refusal));
    }

    [Theory]
    [InlineData("InvalidArgument", "New value exceeds the maximum size limit for this column in this database: Chats.Title, size: 1200, limit: 1024.")]
    [InlineData("InvalidArgument", "Invalid value for column ChatId in table Chats: Expected STRING.")]
    [InlineData("InvalidArgument", "Mutation for table Chats is missing primary key column ChatId.")]
    [InlineData("InvalidArgument", "Statement is too large.")]
    [InlineData("FailedPrecondition", "The transaction contains too many mutations.")]
    public void OtherRefusals_AreNotMutationLimits(string code, string message)
    {
        Assert.False(DataDeletionRunner.IsTooManyMutations(new StorageException(StorageErrorKind.Rejected, code, message)));
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
    [InlineData("[internal] NullReferenceException: Object reference not set to an instance of an object.", "internal")]
    // Stored before categories (or tampered with): never shown as it is.
    [InlineData("InvalidOperationException: table Secrets column X", "internal")]
    [InlineData("[some text] with brackets", "internal")]
    public void CallersSeeOnlyTheCategoryOfAStoredError(string? stored, string shown)
    {
        Assert.Equal(shown, DataDeletionErrors.Public(stored));
    }
}
