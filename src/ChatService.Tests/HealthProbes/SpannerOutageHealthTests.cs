using System.Diagnostics;
using System.Globalization;
using System.Net;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Telemetry;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace ChatService.Tests.HealthProbes;

/// <summary>
/// The service on the shared emulator, reached through a proxy the test can cut, with a short
/// health period. Cutting the proxy is Spanner going away (connections refused, open ones reset);
/// restoring it is Spanner coming back with its sessions and database intact.
/// </summary>
public sealed class SpannerBehindCutoffFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    public TcpCutoff Spanner { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Spanner:EmulatorHost"] = Spanner.Address,
        ["Health:Period"] = Period.ToString("c", CultureInfo.InvariantCulture),
    };

    public override async ValueTask InitializeAsync()
    {
        Spanner = TcpCutoff.Start(Stack.EmulatorHost);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        Spanner.Restore();
        await base.DisposeAsync();
        await Spanner.DisposeAsync();
    }
}

/// <summary>Timing matters here, so these run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SpannerOutageCollection
{
    public const string Name = "Spanner outage";
}

/// <summary>
/// Readiness answers from the last health check run, yet follows Spanner going away and coming
/// back within about one period, over the gRPC health service and <c>/healthz/ready</c> alike.
/// </summary>
[Collection(SpannerOutageCollection.Name)]
public sealed class SpannerOutageHealthTests(SpannerBehindCutoffFixture fixture) : IClassFixture<SpannerBehindCutoffFixture>
{
    private static readonly TimeSpan Period = SpannerBehindCutoffFixture.Period;

    /// <summary>
    /// Beyond the period, for the run itself (the data client retries UNAVAILABLE for about 0.35 s
    /// before the check fails) and this 2-core machine's scheduling.
    /// </summary>
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(1.5);

    /// <summary>After Spanner is back, the data client's channel reconnects within its MaxReconnectBackoff (1 s, plus 20 % jitter).</summary>
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1.2);

    /// <summary>
    /// How long Spanner stays away once readiness has noticed. With gRPC's default reconnect backoff
    /// (1 s growing 1.6x per failed attempt, 20 % jitter: tries about 1, 2.6, 5.2, 9.3, 15.8, 26.3 and
    /// 43 s after the cut) the service's channel would go on failing for 7 s or more after Spanner is
    /// back; shorter outages can end just before a try and hide that.
    /// </summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Readiness_FollowsSpannerGoingAwayAndComingBack_WithinAboutOnePeriod()
    {
        var health = new Health.HealthClient(fixture.Invoker);
        using var http = fixture.Factory.CreateClient();
        Assert.Equal((ServingStatus.Serving, HttpStatusCode.OK), await ObserveAsync(health, http));

        fixture.Spanner.Cut();
        (TimeSpan Grpc, TimeSpan Http) away;
        HealthReport down;
        ServingStatus liveness;
        (ServingStatus, HttpStatusCode) beforeRestore;
        try
        {
            away = await TimeUntilAsync(health, http, ServingStatus.NotServing, HttpStatusCode.ServiceUnavailable);
            down = await HealthReport.GetAsync(http, "/healthz/ready", Ct);
            await Task.Delay(Outage, Ct);
            liveness = (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" }, cancellationToken: Ct)).Status;
            beforeRestore = await ObserveAsync(health, http);
        }
        finally
        {
            fixture.Spanner.Restore();
        }

        var back = await TimeUntilAsync(health, http, ServingStatus.Serving, HttpStatusCode.OK);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"period {Period.TotalSeconds} s; NOT_SERVING after {away.Grpc.TotalSeconds:0.00} s, 503 after {away.Http.TotalSeconds:0.00} s; " +
            $"SERVING again after {back.Grpc.TotalSeconds:0.00} s, 200 after {back.Http.TotalSeconds:0.00} s");

        Assert.Equal("Unhealthy", down.Status);
        Assert.Equal("Unhealthy", down.Checks["spanner"]);
        Assert.Equal(ServingStatus.Serving, liveness);
        Assert.Equal((ServingStatus.NotServing, HttpStatusCode.ServiceUnavailable), beforeRestore);
        Assert.All(new[] { away.Grpc, away.Http }, elapsed => Assert.True(elapsed <= Period + Margin,
            $"readiness noticed Spanner going away after {elapsed.TotalSeconds:0.00} s; the period is {Period.TotalSeconds} s"));
        Assert.All(new[] { back.Grpc, back.Http }, elapsed => Assert.True(elapsed <= Period + Reconnect + Margin,
            $"readiness noticed Spanner coming back after {elapsed.TotalSeconds:0.00} s; the period is {Period.TotalSeconds} s"));
    }

    private static async Task<(ServingStatus Grpc, HttpStatusCode Http)> ObserveAsync(Health.HealthClient health, HttpClient http)
    {
        var grpc = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);
        using var response = await http.GetAsync("/healthz/ready", Ct);
        return (grpc.Status, response.StatusCode);
    }

    /// <summary>Polls both every 20 ms; how long each took to answer as expected (gives up after ten periods).</summary>
    private static async Task<(TimeSpan Grpc, TimeSpan Http)> TimeUntilAsync(
        Health.HealthClient health, HttpClient http, ServingStatus grpcExpected, HttpStatusCode httpExpected)
    {
        var started = Stopwatch.GetTimestamp();
        TimeSpan? grpc = null;
        TimeSpan? httpAt = null;
        while (grpc is null || httpAt is null)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            Assert.True(elapsed < Period * 10, $"readiness did not become {grpcExpected}/{(int)httpExpected} within {elapsed.TotalSeconds:0.0} s");
            var (grpcNow, httpNow) = await ObserveAsync(health, http);
            elapsed = Stopwatch.GetElapsedTime(started);
            grpc ??= grpcNow == grpcExpected ? elapsed : null;
            httpAt ??= httpNow == httpExpected ? elapsed : null;
            await Task.Delay(20, Ct);
        }

        return (grpc.Value, httpAt.Value);
    }
}
