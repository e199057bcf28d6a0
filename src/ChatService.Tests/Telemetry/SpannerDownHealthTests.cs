using System.Net;
using ChatService.Tests.Infrastructure;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Tests.Telemetry;

/// <summary>
/// Spanner unreachable (pointed at a closed port): the service still starts and is alive, but
/// not ready, over HTTP and gRPC, while its schema migration keeps retrying.
/// </summary>
public sealed class SpannerDownHealthTests(LocalStack stack) : IAsyncLifetime
{
    private WebApplicationFactory<Program> _factory = null!;
    private GrpcChannel _channel = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Spanner:EmulatorHost", "127.0.0.1:1");
            builder.UseSetting("Spanner:ProjectId", stack.ProjectId);
            builder.UseSetting("Spanner:InstanceId", stack.InstanceId);
            builder.UseSetting("Spanner:DatabaseId", "unreachable");
            builder.UseSetting("Spanner:SchemaWaitOnStart", "00:00:00");
            builder.UseSetting("Redis:Endpoints", stack.RedisConfiguration);
            foreach (var (key, value) in ChatServiceFixture.FastSimulatedBackend)
            {
                builder.UseSetting(key, value);
            }
        });
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Readiness_WithSpannerUnreachable_Is503Unhealthy()
    {
        using var http = _factory.CreateClient();

        var ready = await HealthReport.GetAsync(http, "/healthz/ready", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Code);
        Assert.Equal("Unhealthy", ready.Status);
        Assert.Equal("Unhealthy", ready.Checks["spanner"]);
    }

    [Fact]
    public async Task GrpcHealth_WithSpannerUnreachable_IsNotServingButAlive()
    {
        var health = new Health.HealthClient(_channel);

        var overall = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        var liveness = await health.CheckAsync(new HealthCheckRequest { Service = "liveness" }, cancellationToken: Ct);

        Assert.Equal(ServingStatus.NotServing, overall.Status);
        Assert.Equal(ServingStatus.Serving, liveness.Status);
    }

    [Fact]
    public async Task Liveness_WithSpannerUnreachable_Is200()
    {
        using var http = _factory.CreateClient();

        var live = await HealthReport.GetAsync(http, "/healthz/live", Ct);

        Assert.Equal(HttpStatusCode.OK, live.Code);
        Assert.Equal("Healthy", live.Status);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
    }
}
