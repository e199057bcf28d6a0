using Google.Apis.Auth.OAuth2;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>Creates the one gRPC channel a client uses: plaintext for the emulator, TLS + OAuth2 otherwise.</summary>
internal static class ChannelFactory
{
    public const string DataScope = "https://www.googleapis.com/auth/spanner.data";
    public const string AdminScope = "https://www.googleapis.com/auth/spanner.admin";

    public static GrpcChannel Create(SpannerClientOptions options, string scope, TimeProvider time, ILogger logger)
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
            // Calls fail fast while the channel waits to reconnect: keep that wait short (see the option).
            InitialReconnectBackoff = options.MaxReconnectBackoff < TimeSpan.FromSeconds(1) ? options.MaxReconnectBackoff : TimeSpan.FromSeconds(1),
            MaxReconnectBackoff = options.MaxReconnectBackoff,
        };

        if (!string.IsNullOrWhiteSpace(options.EmulatorHost))
        {
            channelOptions.Credentials = ChannelCredentials.Insecure;
            return GrpcChannel.ForAddress($"http://{options.EmulatorHost}", channelOptions);
        }

        var credential = options.Credential switch
        {
            null => new AdcTokenSource(scope),
            GoogleCredential { IsCreateScopedRequired: true } google => google.CreateScoped(scope),
            var given => given,
        };
        var callCredentials = new AccessTokenCredentials(credential, options.TokenTimeout, time, logger).ToCallCredentials();
        if (new Uri(options.Endpoint).Scheme == Uri.UriSchemeHttp)
        {
            // Validate() admits plaintext only to a loopback host (a local proxy or a test server).
            channelOptions.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, callCredentials);
            channelOptions.UnsafeUseInsecureChannelCallCredentials = true;
        }
        else
        {
            channelOptions.Credentials = ChannelCredentials.Create(new SslCredentials(), callCredentials);
        }

        return GrpcChannel.ForAddress(options.Endpoint, channelOptions);
    }
}
