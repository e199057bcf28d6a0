using ChatService.Tests.Infrastructure;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace ChatService.Tests.Api;

public sealed class HostingTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task Health_ReportsServingOnceSpannerIsReady()
    {
        var health = new Health.HealthClient(Fixture.Invoker);

        var response = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_ListsTheChatService()
    {
        var reflection = new ServerReflection.ServerReflectionClient(Fixture.Invoker);
        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct));

        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("chat.v1.ChatService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task SchemaMigration_RunAgainOnTheSameDatabase_ChangesNothing()
    {
        var before = await Fixture.SnapshotAsync();
        var versions = await Fixture.CountAsync("SELECT COUNT(*) FROM SchemaMigrations");

        // A second replica starting against the same database.
        await using var second = Fixture.Factory.WithWebHostBuilder(_ => { });
        using var client = second.CreateClient();
        var response = await client.GetAsync("/healthz/ready", Ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(versions, await Fixture.CountAsync("SELECT COUNT(*) FROM SchemaMigrations"));
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }
}
