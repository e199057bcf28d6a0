using System.Net;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Tests.Telemetry;

/// <summary>Redis down degrades the replica; it stays ready and keeps serving from Spanner.</summary>
public sealed class RedisDownHealthTests(RedisDownFixture fixture) : ApiTestBase(fixture), IClassFixture<RedisDownFixture>
{
    [Fact]
    public async Task Readiness_WithRedisDown_Is200Degraded()
    {
        using var http = Fixture.Factory.CreateClient();

        var ready = await HealthReport.GetAsync(http, "/healthz/ready", Ct);

        Assert.Equal(HttpStatusCode.OK, ready.Code);
        Assert.Equal("Degraded", ready.Status);
        Assert.Equal("Degraded", ready.Checks["redis"]);
        Assert.Equal("Healthy", ready.Checks["spanner"]);
    }

    [Fact]
    public async Task GrpcHealth_WithRedisDown_IsServing()
    {
        var health = new Health.HealthClient(Fixture.Invoker);

        var overall = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        var api = await health.CheckAsync(new HealthCheckRequest { Service = "chat.v1.ChatService" }, cancellationToken: Ct);

        Assert.Equal(ServingStatus.Serving, overall.Status);
        Assert.Equal(ServingStatus.Serving, api.Status);
    }

    [Fact]
    public async Task Liveness_WithRedisDown_Is200()
    {
        using var http = Fixture.Factory.CreateClient();

        var live = await HealthReport.GetAsync(http, "/healthz/live", Ct);

        Assert.Equal(HttpStatusCode.OK, live.Code);
        Assert.Equal("Healthy", live.Status);
        Assert.Equal(["process"], live.Checks.Keys);
    }

    [Fact]
    public async Task SendMessage_WithRedisDown_StillCompletesTheReply()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var events = await SendAsync(user, chat.ChatId, "Are you there?");

        Assert.NotNull(events[^1].Completed);
    }
}
