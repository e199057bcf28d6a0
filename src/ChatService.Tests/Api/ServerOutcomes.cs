using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ChatService.Tests.Api;

/// <summary>
/// A server interceptor that records the status each tagged call's handler ended with, as the
/// service produced it (the client may see its own deadline first).
/// </summary>
public sealed class ServerOutcomes : Interceptor
{
    public const string CallIdHeader = "x-test-call-id";

    private readonly ConcurrentDictionary<string, TaskCompletionSource<StatusCode>> _calls = new();

    /// <summary>Completes with the status of the call tagged <paramref name="callId"/> once its handler ends.</summary>
    public Task<StatusCode> Expect(string callId) =>
        _calls.GetOrAdd(callId, _ => new TaskCompletionSource<StatusCode>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            var response = await continuation(request, context);
            Record(context, StatusCode.OK);
            return response;
        }
        catch (Exception ex)
        {
            Record(context, ex is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown);
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
            Record(context, StatusCode.OK);
        }
        catch (Exception ex)
        {
            Record(context, ex is RpcException rpc ? rpc.StatusCode : StatusCode.Unknown);
            throw;
        }
    }

    private void Record(ServerCallContext context, StatusCode code)
    {
        if (context.RequestHeaders.GetValue(CallIdHeader) is { } id)
        {
            _calls.GetOrAdd(id, _ => new TaskCompletionSource<StatusCode>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(code);
        }
    }
}
