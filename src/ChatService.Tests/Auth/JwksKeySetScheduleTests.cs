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
/// does not wait for it), an issuer down at start: refused UNAVAILABLE, retried after the minimum interval;
/// one fetch per call whatever its cause, no wait at all when <c>Auth:JwksUnknownKeyWait</c> is 0, and a
/// meter listener that throws cannot wedge the fetch state.
/// </summary>
/// <remarks>
/// <see cref="FindAsync"/> stands in for the token handler: a key whose id is in the set validates, any
/// other makes the call search.
/// </remarks>
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
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));
        Assert.Equal(1, _jwks.Fetches);
        Assert.True(counters.Refreshes("startup", "success") == 1, counters.ToString());

        // Within the interval: served from memory.
        _clock.Advance(RefreshInterval - TimeSpan.FromSeconds(1));
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));
        Assert.Equal(1, _jwks.Fetches);

        // Past it: the call is answered from memory at once, and the fetch runs behind it.
        _clock.Advance(TimeSpan.FromSeconds(1));
        var next = TestSigner.Rsa("schedule-2");
        _jwks.Publish(_signer, next);
        Assert.Contains(keys.Use(out var started).List, key => key.KeyId == "schedule-1");
        Assert.True(started);
        await EventuallyAsync(() => counters.Refreshes("scheduled", "success") == 1, counters.ToString);
        Assert.Equal(2, _jwks.Fetches);
        Assert.Equal(Known, await FindAsync(keys, "schedule-2"));
        Assert.Equal(2, _jwks.Fetches);
    }

    [Fact]
    public async Task AnIssuerDownAtStart_IsUnavailable_AndTriedAgainAfterTheMinimumInterval()
    {
        using var counters = new AuthCounters(_services.GetRequiredService<IMeterFactory>());
        var keys = _services.GetRequiredService<JwksKeySet>();
        _jwks.Down = true;

        await keys.StartAsync(Ct);
        await EventuallyAsync(() => counters.Refreshes("startup", "failure") == 1, counters.ToString);
        // The start's fetch failed; the call makes one of its own (a call that joined a failed fetch would
        // make none), which fails too.
        Assert.Equal(nameof(JwksKeyOutcome.Unavailable), await FindAsync(keys, "schedule-1"));
        Assert.True(counters.Refreshes("unknown_kid", "failure") == 1, counters.ToString());
        var fetches = _jwks.Fetches;

        // Up again, but inside the minimum interval: refused without a fetch, still UNAVAILABLE (the keys could not be checked).
        _jwks.Down = false;
        Assert.Equal(nameof(JwksKeyOutcome.Unavailable), await FindAsync(keys, "schedule-1"));
        Assert.Equal(fetches, _jwks.Fetches);

        // Past it: the retry brings the keys.
        _clock.Advance(MinimumRefreshInterval);
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));
        Assert.Equal(fetches + 1, _jwks.Fetches);
        Assert.True(counters.Refreshes("startup", "success") == 1, counters.ToString());
    }

    [Fact]
    public async Task ACallThatStartsADueScheduledFetch_StartsNoUnknownKeyFetchAsWell()
    {
        using var counters = new AuthCounters(_services.GetRequiredService<IMeterFactory>());
        var keys = _services.GetRequiredService<JwksKeySet>();
        await keys.StartAsync(Ct);
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));

        // The scheduled fetch is due; the first call past it names a key nobody publishes: it starts the
        // scheduled fetch, waits for it, and is refused without a second fetch of its own.
        _clock.Advance(RefreshInterval);
        Assert.Equal(nameof(JwksKeyOutcome.NotPublished), await FindAsync(keys, "never-published"));
        Assert.Equal(2, _jwks.Fetches);
        Assert.True(counters.Refreshes("scheduled", "success") == 1 && counters.Refreshes("unknown_kid", "success") == 0, counters.ToString());

        // The next such call may use the unknown-key allowance (the scheduled fetch cost it nothing); the
        // one after it, inside the minimum interval, is throttled.
        Assert.Equal(nameof(JwksKeyOutcome.NotPublished), await FindAsync(keys, "never-published"));
        Assert.Equal(nameof(JwksKeyOutcome.Throttled), await FindAsync(keys, "never-published-2"));
        Assert.Equal(3, _jwks.Fetches);
    }

    [Fact]
    public async Task WithNoUnknownKeyWait_ACallIsRefusedAtOnce_AndItsFetchServesTheCallsAfterIt()
    {
        using var counters = new AuthCounters(_services.GetRequiredService<IMeterFactory>());
        using var keys = Build(TimeSpan.Zero);
        // The call made while the start's fetch runs does not wait for it. The fetch is held until then: a
        // local fetch left to itself could end first on a loaded machine, and the call would find the key.
        using (_jwks.Hang())
        {
            await keys.StartAsync(Ct);
            Assert.Equal(nameof(JwksKeyOutcome.Unavailable), await FindAsync(keys, "schedule-1"));
        }

        await EventuallyAsync(() => counters.Refreshes("startup", "success") == 1, counters.ToString);
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));

        var next = TestSigner.Rsa("schedule-next");
        _jwks.Publish(_signer, next);
        Assert.Equal(nameof(JwksKeyOutcome.Unavailable), await FindAsync(keys, "schedule-next"));
        await EventuallyAsync(() => counters.Refreshes("unknown_kid", "success") == 1, counters.ToString);
        Assert.Equal(Known, await FindAsync(keys, "schedule-next"));
        Assert.Equal(2, _jwks.Fetches);
    }

    [Fact]
    public async Task AMeterListenerThatThrows_CannotWedgeTheFetchState()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "chat.jwks.refreshes" && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => throw new InvalidOperationException("a broken listener"));
        listener.Start();
        var keys = _services.GetRequiredService<JwksKeySet>();

        await keys.StartAsync(Ct);
        Assert.Equal(Known, await FindAsync(keys, "schedule-1"));

        // Every later fetch still starts: the one before it cleared itself although its metric threw.
        _clock.Advance(MinimumRefreshInterval);
        _jwks.Publish(_signer, TestSigner.Rsa("schedule-3"));
        Assert.Equal(Known, await FindAsync(keys, "schedule-3"));
        _clock.Advance(MinimumRefreshInterval);
        Assert.Equal(nameof(JwksKeyOutcome.NotPublished), await FindAsync(keys, "never-published"));
        Assert.Equal(3, _jwks.Fetches);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _jwks.DisposeAsync();
    }

    private const string Known = "Known";

    /// <summary>
    /// What a token signed with the key <paramref name="keyId"/> gets: <see cref="Known"/> when the keys hold
    /// it at once or after a search, else the search's outcome.
    /// </summary>
    private static async Task<string> FindAsync(JwksKeySet keys, string keyId)
    {
        var current = keys.Use(out var started);
        if (current.List.Any(key => key.KeyId == keyId))
        {
            return Known;
        }

        var search = new JwksKeySearch(current) { StartedOne = started };
        while (true)
        {
            var outcome = await keys.FindAsync(search);
            if (outcome != JwksKeyOutcome.NewKeys)
            {
                return outcome.ToString();
            }

            if (search.Tried.List.Any(key => key.KeyId == keyId))
            {
                return Known;
            }
        }
    }

    private JwksKeySet Build(TimeSpan unknownKeyWait) => new(
        Options.Create(new AuthOptions
        {
            JwksUrl = _jwks.Url.ToString(),
            JwksRequireHttps = false,
            JwksRefreshInterval = RefreshInterval,
            JwksMinimumRefreshInterval = MinimumRefreshInterval,
            JwksUnknownKeyWait = unknownKeyWait,
        }),
        _services.GetRequiredService<IHttpClientFactory>(),
        _services.GetRequiredService<AuthMetrics>(),
        _clock,
        NullLogger<JwksKeySet>.Instance);

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
