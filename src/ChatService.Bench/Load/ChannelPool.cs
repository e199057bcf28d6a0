using Grpc.Core;
using Grpc.Net.Client;

namespace ChatService.Bench.Load;

/// <summary>
/// Real gRPC clients: HTTP/2 without TLS (h2c), one <see cref="GrpcChannel"/> for every few callers,
/// as a frontend fleet would have. A channel opens more connections when one reaches the server's
/// stream limit (Kestrel allows 100 streams per connection).
/// </summary>
internal sealed class ChannelPool : IDisposable
{
    private readonly GrpcChannel[] _channels;

    public ChannelPool(Uri address, int callers, int callersPerChannel)
    {
        var count = Math.Max(1, (callers + callersPerChannel - 1) / callersPerChannel);
        _channels = [.. Enumerable.Range(0, count).Select(_ => GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(60),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            },
            MaxReceiveMessageSize = 16 * 1024 * 1024,
        }))];
    }

    public int Count => _channels.Length;

    /// <summary>The channel caller <paramref name="caller"/> uses.</summary>
    public CallInvoker For(int caller) => _channels[caller % _channels.Length].CreateCallInvoker();

    /// <summary>Opens every channel's first connection, so no caller's first call pays for it in the window.</summary>
    public Task ConnectAllAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_channels.Select(c => c.ConnectAsync(cancellationToken)));

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
