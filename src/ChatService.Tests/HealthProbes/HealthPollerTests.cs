using ChatService.HealthChecks;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Tests.HealthProbes;

/// <summary>
/// The service's health wiring (<see cref="HealthExtensions.AddServiceHealth"/>) in a bare host on a
/// fake clock, with a check the test switches: when the checks run and what gets published.
/// </summary>
public sealed class HealthPollerTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BeforeTheFirstRun_TheGrpcServicesAreNotServing_AndReadinessIsUnhealthy()
    {
        using var host = Build(new SwitchCheck(), new FakeTimeProvider());
        var poller = host.Services.GetRequiredService<HealthPoller>();

        await poller.StartAsync(Ct);

        Assert.Equal(ServingStatus.NotServing, Status(host, ""));
        Assert.Equal(ServingStatus.NotServing, Status(host, "chat.v1.ChatService"));
        Assert.Equal(HealthStatus.Unhealthy, poller.Readiness.Status);
        Assert.Empty(poller.Readiness.Entries);
    }

    [Fact]
    public async Task TheChecksRunOnceWhenStarted_ThenOncePerPeriod_AndEachRunIsPublished()
    {
        var check = new SwitchCheck();
        var clock = new FakeTimeProvider();
        using var host = Build(check, clock);
        var poller = host.Services.GetRequiredService<HealthPoller>();

        await host.StartAsync(Ct);
        Assert.Equal(1, check.Runs);
        Assert.Equal(ServingStatus.Serving, Status(host, ""));
        Assert.Equal(["dependency"], poller.Readiness.Entries.Keys);

        check.Healthy = false;
        clock.Advance(Period - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50, Ct);
        Assert.Equal(1, check.Runs);
        Assert.Equal(ServingStatus.Serving, Status(host, ""));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        await WaitUntilAsync(() => check.Runs == 2 && Status(host, "") == ServingStatus.NotServing && poller.Readiness.Status == HealthStatus.Unhealthy);
        Assert.Equal(ServingStatus.NotServing, Status(host, "chat.v1.ChatService"));
        Assert.Equal(ServingStatus.Serving, Status(host, "liveness"));
        Assert.Equal(HealthStatus.Unhealthy, poller.Readiness.Status);

        check.Healthy = true;
        clock.Advance(Period);
        // The gRPC status and the readiness report are published one after the other: wait for both.
        await WaitUntilAsync(() => check.Runs == 3 && Status(host, "") == ServingStatus.Serving && poller.Readiness.Status == HealthStatus.Healthy);
        Assert.Equal(HealthStatus.Healthy, poller.Readiness.Status);

        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task ACheckThatHangs_FailsAfterOnePeriod_WithItsFailureStatus()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([KeyValuePair.Create<string, string?>("Health:Period", "00:00:00.200")]);
        builder.AddServiceHealth();
        builder.Services.AddLogging();
        builder.Services.AddHealthChecks()
            .AddCheck("hangs", new HangingCheck(), failureStatus: HealthStatus.Degraded, tags: [HealthExtensions.ReadyTag]);
        using var host = builder.Build();
        var poller = host.Services.GetRequiredService<HealthPoller>();

        await host.StartAsync(Ct);

        var entry = Assert.Single(poller.Readiness.Entries).Value;
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal(ServingStatus.Serving, Status(host, ""));
        await host.StopAsync(Ct);
    }

    private static IHost Build(SwitchCheck check, FakeTimeProvider clock)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection([KeyValuePair.Create<string, string?>("Health:Period", Period.ToString("c"))]);
        builder.AddServiceHealth();
        builder.Services.AddLogging();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddHealthChecks().AddCheck("dependency", check, tags: [HealthExtensions.ReadyTag]);
        return builder.Build();
    }

    /// <summary>What the gRPC health service's Check answers (it reads the published status; the call context is unused).</summary>
    private static ServingStatus Status(IHost host, string service) =>
        host.Services.GetRequiredService<HealthServiceImpl>().Check(new HealthCheckRequest { Service = service }, context: null!).Result.Status;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the run was not published within 10 s");
            await Task.Delay(10, Ct);
        }
    }

    private sealed class SwitchCheck : IHealthCheck
    {
        private int _runs;

        public volatile bool Healthy = true;

        public int Runs => Volatile.Read(ref _runs);

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _runs);
            return Task.FromResult(Healthy ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("switched off"));
        }
    }

    private sealed class HangingCheck : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return HealthCheckResult.Healthy();
        }
    }
}
