using System.Net;
using ChatService.HealthChecks;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Telemetry;
using HealthReport = ChatService.Tests.Telemetry.HealthReport;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Tests.HealthProbes;

/// <summary>
/// The service with one more readiness check that counts its runs, and a period far longer than
/// the test, so every run after the one at start would come from a probe or a Check call.
/// </summary>
public sealed class CountedHealthFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public CountingCheck Counted { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Health:Period"] = "01:00:00",
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddHealthChecks().AddCheck("counted", Counted, tags: [HealthExtensions.ReadyTag]);

    public sealed class CountingCheck : IHealthCheck
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _runs);
            return Task.FromResult(HealthCheckResult.Healthy("counted"));
        }
    }
}

/// <summary>Health probes and gRPC Check calls answer the last published run: a burst of them runs no check.</summary>
public sealed class HealthBurstTests(CountedHealthFixture fixture) : IClassFixture<CountedHealthFixture>
{
    private const int Burst = 200;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GrpcCheck_BurstOf200_RunsNoHealthCheck()
    {
        var health = new Health.HealthClient(fixture.Invoker);
        var runs = fixture.Counted.Runs;

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(i => health.CheckAsync(
            new HealthCheckRequest { Service = i % 2 == 0 ? "" : "chat.v1.ChatService" }, cancellationToken: Ct).ResponseAsync));

        Assert.True(runs >= 1, "the check ran at start");
        Assert.All(answers, a => Assert.Equal(ServingStatus.Serving, a.Status));
        Assert.Equal(runs, fixture.Counted.Runs);
    }

    [Fact]
    public async Task ReadinessProbe_BurstOf200_RunsNoHealthCheck_AndListsEveryReadyCheck()
    {
        using var http = fixture.Factory.CreateClient();
        var runs = fixture.Counted.Runs;

        var reports = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => HealthReport.GetAsync(http, "/healthz/ready", Ct)));

        Assert.All(reports, r =>
        {
            Assert.Equal(HttpStatusCode.OK, r.Code);
            Assert.Equal("Healthy", r.Status);
            Assert.Equal(["counted", "redis", "spanner"], r.Checks.Keys.Order(StringComparer.Ordinal));
        });
        Assert.Equal(runs, fixture.Counted.Runs);
    }
}
