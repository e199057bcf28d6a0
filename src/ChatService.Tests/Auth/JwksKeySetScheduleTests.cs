using System.Diagnostics.Metrics;
using ChatService.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Auth;

/// <summary>
/// <see cref="JwksKeySet"/>'s own schedule, on a clock the test moves, against a real key server: the fetch
/// at start, the scheduled fetch once <c>Auth:JwksRefreshInterval</c> has passed (the call that finds it due
/// does not wait for it), and an issuer down at start: refused UNAVAILABLE, retried after the minimum interval.
/// </summary>
public sealed class JwksKeySetScheduleTests : IAsyncLifetime
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MinimumRefreshInterval = TimeSpan.FromMinutes(1);

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly TestSigner _signer = TestSigner.Rsa("schedule-1");
    private FakeJwksServer _jwks = null!;
    private ServiceProvider _services = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _jwks = await FakeJwksServer.StartAsync(Ct);
        _jwks.Publish(_signer);
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddHttpClient(ConfigureJwtBearer.JwksHttpClient);
        services.AddSingleton<TimeProvider>(_clock);
        services.AddSingleton(Options.Create(new AuthOptions
        {
            JwksUrl = _jwks.Url.ToString(),
            JwksRequireHttps = false,
            JwksRefreshInterval = RefreshInterval,
            JwksMinimumRefreshInterval = MinimumRefreshInterval,
            // Real seconds never pass on the fake clock; the local server answers long before this.
            JwksUnknownKeyWait = TimeSpan.FromSeconds(30),
        }));
        services.AddSingleton<ILogger<JwksKeySet>>(NullLogger<JwksKeySet>.Instance);
        services.AddSingleton<AuthMetrics>();
        services.AddSingleton<JwksKeySet>();
        _services = services.BuildServiceProvider();
    }

    [Fact]
    public async Task TheKeysFetchedAtStart_AreFetchedAgainOnceTheRefreshIntervalHasPassed_WithoutHoldingUpACall()
    {
        using var counters = new AuthCounters(_services.GetRequiredService<IMeterFactory>());
        var keys = _services.GetRequiredService<JwksKeySet>();

        await keys.StartAsync(Ct);
        Assert.Equal(JwksKeyOutcome.Known, (await keys.FindAsync("schedule-1")).Outcome);
        Assert.Equal(1, _jwks.Fetches);
        Assert.True(counters.Refreshes("startup", "success") == 1, counters.ToString());

        // Within the interval: served from memory.
        _clock.Advance(RefreshInterval - TimeSpan.FromSeconds(1));
        Assert.Equal(JwksKeyOutcome.Known, (await keys.FindAsync("schedule-1")).Outcome);
        Assert.Equal(1, _jwks.Fetches);

        // Past it: the call is answered from memory at once, and the fetch runs behind it.
        _clock.Advance(TimeSpan.FromSeconds(1));
        var next = TestSigner.Rsa("schedule-2");
        _jwks.Publish(_signer, next);
        var lookup = keys.FindAsync("schedule-1");
        Assert.True(lookup.IsCompletedSuccessfully);
        Assert.Equal(JwksKeyOutcome.Known, (await lookup).Outcome);
        await EventuallyAsync(() => counters.Refreshes("scheduled", "success") == 1, counters.ToString);
        Assert.Equal(2, _jwks.Fetches);
        Assert.Equal(JwksKeyOutcome.Known, (await keys.FindAsync("schedule-2")).Outcome);
        Assert.Equal(2, _jwks.Fetches);
    }

    [Fact]
    public async Task AnIssuerDownAtStart_IsUnavailable_AndTriedAgainAfterTheMinimumInterval()
    {
        using var counters = new AuthCounters(_services.GetRequiredService<IMeterFactory>());
        var keys = _services.GetRequiredService<JwksKeySet>();
        _jwks.Down = true;

        await keys.StartAsync(Ct);
        // The call joins the fetch at start (or, had it ended, makes one of its own): either way it fails.
        Assert.Equal(JwksKeyOutcome.Unavailable, (await keys.FindAsync("schedule-1")).Outcome);
        await EventuallyAsync(() => counters.Refreshes("startup", "failure") >= 1, counters.ToString);
        var fetches = _jwks.Fetches;

        // Up again, but inside the minimum interval: refused without a fetch, still UNAVAILABLE (the keys could not be checked).
        _jwks.Down = false;
        Assert.Equal(JwksKeyOutcome.Unavailable, (await keys.FindAsync("schedule-1")).Outcome);
        Assert.Equal(fetches, _jwks.Fetches);

        // Past it: the retry brings the keys.
        _clock.Advance(MinimumRefreshInterval);
        Assert.Equal(JwksKeyOutcome.Known, (await keys.FindAsync("schedule-1")).Outcome);
        Assert.Equal(fetches + 1, _jwks.Fetches);
        Assert.True(counters.Refreshes("startup", "success") == 1, counters.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _jwks.DisposeAsync();
    }

    private static async Task EventuallyAsync(Func<bool> condition, Func<string> seen)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not within 30 s: {seen()}");
            await Task.Delay(20, Ct);
        }
    }
}
