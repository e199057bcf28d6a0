using System.Net;
using ChatService.Api.V1;
using ChatService.Bench.Baselines.V1;
using ChatService.Bench.Load;
using ChatService.Testing;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatService.Bench.Baselines;

/// <summary>
/// Baseline 1: a bare ASP.NET Core gRPC unary endpoint hosted in the bench process, returning the
/// same bytes as the service's history page of the same chat. The client does what it does
/// against the service: sends the same header, and parses the bytes as a GetHistoryResponse.
/// With <c>redis</c>, each call reads the bytes with one Redis GET first: the least a look-aside
/// cached read can cost (the service's floor on this machine).
/// </summary>
internal static class BareGrpcBaseline
{
    public static async Task<LoadResult> RunAsync(
        BaselinePayloads payloads, RedisPages? redis, IReadOnlyList<Scenarios.BenchChat> chats, int callers, BenchOptions options, CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var contentRoot = Directory.CreateTempSubdirectory("chatbench-");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = contentRoot.FullName, EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(_ => new BaselineService(payloads, redis));
        await using var app = builder.Build();
        app.MapGrpcService<BaselineService>();
        await app.StartAsync(cancellationToken);
        try
        {
            using var pool = new ChannelPool(new Uri($"http://127.0.0.1:{port}"), callers, options.CallersPerChannel);
            await pool.ConnectAllAsync(cancellationToken);
            var clients = Enumerable.Range(0, callers).Select(i => new Baseline.BaselineClient(pool.For(i))).ToArray();
            var name = redis is null ? "bare gRPC (in-process, same bytes)" : "gRPC + one Redis GET (in-process, same bytes)";
            return await ClosedLoop.RunAsync(name, callers, options.Warmup, options.Duration, async (caller, ct) =>
            {
                var key = caller.Random.Next(chats.Count);
                var request = new GetRequest { Key = key };
                var reply = redis is null
                    ? await clients[caller.Index].GetAsync(request, chats[key].Headers, cancellationToken: ct)
                    : await clients[caller.Index].GetFromRedisAsync(request, chats[key].Headers, cancellationToken: ct);
                _ = GetHistoryResponse.Parser.ParseFrom(reply.Payload);
            }, servicePid: null, cancellationToken);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            contentRoot.Delete(recursive: true);
        }
    }
}
