namespace ChatService.Bench.Infrastructure;

/// <summary>Runs a cleanup at the end of an <c>await using</c> scope, for a resource that a scope may replace.</summary>
internal sealed class AsyncDisposer(Func<ValueTask> dispose) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => dispose();
}
