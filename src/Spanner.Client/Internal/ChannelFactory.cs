using Grpc.Core;
using Grpc.Net.Client;

namespace Spanner.Client.Internal;

/// <summary>Creates the one gRPC channel a client uses: plaintext for the emulator, TLS + OAuth2 otherwise.</summary>
internal static class ChannelFactory
{
    public const string DataScope = "https://www.googleapis.com/auth/spanner.data";
    public const string AdminScope = "https://www.googleapis.com/auth/spanner.admin";

    public static GrpcChannel Create(SpannerClientOptions options, string scope)
    {
        var handler = new SocketsHttpHandler
        {
            // Spanner limits concurrent streams per connection; more connections avoid queueing under load.
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
        };
        var channelOptions = new GrpcChannelOptions
        {
            HttpHandler = handler,
            // Results stream in ~1 MiB chunks, but unary ResultSets and errors can be larger than the 4 MB default.
            MaxReceiveMessageSize = 128 * 1024 * 1024,
            MaxSendMessageSize = null,
            DisposeHttpClient = true,
        };

        if (!string.IsNullOrWhiteSpace(options.EmulatorHost))
        {
            channelOptions.Credentials = ChannelCredentials.Insecure;
            return GrpcChannel.ForAddress($"http://{options.EmulatorHost}", channelOptions);
        }

        var tokens = options.AccessTokenProvider ?? new AdcTokenSource(scope).GetAccessTokenAsync;
        var callCredentials = CallCredentials.FromInterceptor(async (context, metadata) =>
        {
            var token = await tokens(context.CancellationToken);
            metadata.Add("authorization", $"Bearer {token}");
        });
        channelOptions.Credentials = ChannelCredentials.Create(new SslCredentials(), callCredentials);
        return GrpcChannel.ForAddress(options.Endpoint, channelOptions);
    }
}
