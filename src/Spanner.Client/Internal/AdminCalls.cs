using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>Runs an admin RPC, translating failures to <see cref="SpannerException"/>.</summary>
internal static class AdminCalls
{
    public static async Task<T> RunAsync<T>(Func<AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            using var pending = call();
            return await pending.ResponseAsync;
        }
        catch (RpcException ex)
        {
            throw RpcErrors.Translate(ex, cancellationToken);
        }
    }
}
