using System.Net;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Admin = Spanner.Client.Admin.Database.V1;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>
/// <see cref="FakeSpannerServer"/> behind a real gRPC server (Kestrel, h2c on a free loopback port), so a client
/// built the production way, with its own channel and call credentials, can be tested on the wire: the
/// headers recorded per call are the HTTP/2 headers the server received.
/// </summary>
internal sealed class FakeSpannerHost : IAsyncDisposable
{
    private const string SpannerService = "google.spanner.v1.Spanner";
    private const string DatabaseAdminService = "google.spanner.admin.database.v1.DatabaseAdmin";

    private readonly WebApplication _app;

    private FakeSpannerHost(WebApplication app, FakeSpannerServer server, string endpoint)
    {
        _app = app;
        Server = server;
        Endpoint = endpoint;
    }

    public FakeSpannerServer Server { get; }

    /// <summary>The address to give the client, e.g. <c>http://127.0.0.1:54321</c>.</summary>
    public string Endpoint { get; }

    public static async Task<FakeSpannerHost> StartAsync(CancellationToken cancellationToken)
    {
        var server = new FakeSpannerServer();
        var builder = WebApplication.CreateBuilder();
        // The test output holds the service's appsettings.json with its fixed Kestrel endpoints; this server wants none of it.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(server);
        builder.Services.AddSingleton<IServiceMethodProvider<Bridge>, BridgeMethods>();
        var app = builder.Build();
        app.MapGrpcService<Bridge>();
        await app.StartAsync(cancellationToken);
        var port = new Uri(app.Urls.Single()).Port;
        return new FakeSpannerHost(app, server, $"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>The gRPC service type the bridged methods hang off; it has no state.</summary>
    internal sealed class Bridge;

    /// <summary>Binds the Spanner methods the client uses to the fake's handlers, without generated server code.</summary>
    private sealed class BridgeMethods(FakeSpannerServer server) : IServiceMethodProvider<Bridge>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Bridge> context)
        {
            Unary<V1.BatchCreateSessionsRequest, V1.BatchCreateSessionsResponse>(context, SpannerService, "BatchCreateSessions");
            Unary<V1.DeleteSessionRequest, Google.Protobuf.WellKnownTypes.Empty>(context, SpannerService, "DeleteSession");
            Unary<V1.BeginTransactionRequest, V1.Transaction>(context, SpannerService, "BeginTransaction");
            Unary<V1.CommitRequest, V1.CommitResponse>(context, SpannerService, "Commit");
            Unary<V1.RollbackRequest, Google.Protobuf.WellKnownTypes.Empty>(context, SpannerService, "Rollback");
            Unary<V1.ExecuteSqlRequest, V1.ResultSet>(context, SpannerService, "ExecuteSql");
            Unary<Admin.GetDatabaseDdlRequest, Admin.GetDatabaseDdlResponse>(context, DatabaseAdminService, "GetDatabaseDdl");

            var streaming = Method<V1.ExecuteSqlRequest, V1.PartialResultSet>(MethodType.ServerStreaming, SpannerService, "ExecuteStreamingSql");
            context.AddServerStreamingMethod(streaming, [], async (_, request, writer, call) =>
            {
                foreach (var item in (IEnumerable<object>)server.Invoke(streaming.Name, request, call.RequestHeaders))
                {
                    await writer.WriteAsync((V1.PartialResultSet)item);
                }
            });
        }

        private void Unary<TRequest, TResponse>(ServiceMethodProviderContext<Bridge> context, string service, string name)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
        {
            var method = Method<TRequest, TResponse>(MethodType.Unary, service, name);
            context.AddUnaryMethod(method, [], (_, request, call) => Task.FromResult((TResponse)server.Invoke(name, request, call.RequestHeaders)));
        }

        private static Method<TRequest, TResponse> Method<TRequest, TResponse>(MethodType type, string service, string name)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new() =>
            new(type, service, name, Marshaller<TRequest>(), Marshaller<TResponse>());

        private static Marshaller<T> Marshaller<T>()
            where T : class, IMessage<T>, new()
        {
            var parser = new MessageParser<T>(() => new T());
            return Marshallers.Create(message => message.ToByteArray(), parser.ParseFrom);
        }
    }
}
