using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ChatService.Tests.Storage;

/// <summary>
/// Runs an action (typically a commit through another client) just before the Nth streaming query a client
/// sends after <see cref="Arm"/>, and sends that query only once the action has finished. A test can so change
/// the database between two reads of one operation: a read that takes its timestamp when it arrives sees the
/// change; a read of a snapshot begun earlier does not.
/// </summary>
internal sealed class CommitBeforeQuery : Interceptor
{
    private Func<Task>? _action;
    private int _fireAt;
    private int _queries;
    private volatile bool _fired;

    /// <summary>Whether the action has run.</summary>
    public bool Fired => _fired;

    /// <summary>Runs <paramref name="action"/> before the <paramref name="queryNumber"/>-th streaming query from now (1-based).</summary>
    public void Arm(int queryNumber, Func<Task> action)
    {
        _fireAt = queryNumber;
        Interlocked.Exchange(ref _queries, 0);
        _action = action;
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        var action = _action;
        if (action is null || Interlocked.Increment(ref _queries) != _fireAt)
        {
            return continuation(request, context);
        }

        _action = null;
        var call = StartAfterAsync(action, () => continuation(request, context));
        return new AsyncServerStreamingCall<TResponse>(
            new DeferredReader<TResponse>(call),
            HeadersAsync(call),
            () => call.Result.GetStatus(),
            () => call.Result.GetTrailers(),
            () =>
            {
                if (call.IsCompletedSuccessfully)
                {
                    call.Result.Dispose();
                }
            });
    }

    private async Task<AsyncServerStreamingCall<T>> StartAfterAsync<T>(Func<Task> action, Func<AsyncServerStreamingCall<T>> start)
    {
        await action();
        _fired = true;
        return start();
    }

    private static async Task<Metadata> HeadersAsync<T>(Task<AsyncServerStreamingCall<T>> call) =>
        await (await call).ResponseHeadersAsync;

    /// <summary>The response stream of a call that starts once the action is done.</summary>
    private sealed class DeferredReader<T>(Task<AsyncServerStreamingCall<T>> call) : IAsyncStreamReader<T>
    {
        public T Current => call.Result.ResponseStream.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken) =>
            await (await call).ResponseStream.MoveNext(cancellationToken);
    }
}
