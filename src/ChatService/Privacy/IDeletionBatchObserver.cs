namespace ChatService.Privacy;

/// <summary>A batch a deletion is about to commit: what it deletes (<c>import</c>, <c>chat</c>, <c>turn</c>, <c>lorebook</c>, <c>persona</c>, <c>character</c>), how many, and its estimated mutations.</summary>
internal readonly record struct DeletionBatch(string UserKey, string Kind, int Items, long Cost);

/// <summary>
/// Told of each batch of a deletion after it was chosen and before its commit. The service registers none;
/// tests register one to slow a batch down (lease renewal), to refuse it as Spanner refuses a commit with too
/// many mutations (halving), or to write between a batch's listing and its commit (reads in the commit).
/// </summary>
internal interface IDeletionBatchObserver
{
    ValueTask BeforeCommitAsync(DeletionBatch batch, CancellationToken cancellationToken);
}
