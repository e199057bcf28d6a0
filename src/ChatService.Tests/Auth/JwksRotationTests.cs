using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Tests.Auth;

/// <summary>
/// Issue 19: an issuer's key rotation refuses nobody. A token naming a key the service does not know
/// waits (Auth:JwksUnknownKeyWait) for one fetch shared by every such call; fetches for unknown keys
/// come at most once per Auth:JwksMinimumRefreshInterval; an issuer that is down or slow costs the calls
/// with new keys an UNAVAILABLE within the wait, and nothing to calls with known keys; a key the service
/// may not look for yet (inside the interval) is UNAVAILABLE too, so clients retry rather than sign out.
/// </summary>
/// <remarks>The tests share the key server, so they run one after another (xunit runs a class's tests in sequence).</remarks>
public sealed class JwksRotationTests(JwksRotationFixture fixture) : ApiTestBase(fixture), IClassFixture<JwksRotationFixture>
{
    /// <summary>Room for a loaded machine on top of a bound the service keeps.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    private FakeJwksServer Jwks => fixture.Jwks;

    [Fact]
    public async Task RotatedKey_FiftyConcurrentFirstCalls_AllPass_WithOneFetch()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var next = TestSigner.Rsa($"rotation-next-{Guid.NewGuid():N}");
        var fetches = Jwks.Fetches;

        // The issuer publishes its new key, then signs with it.
        Jwks.Publish(fixture.Published, next);
        await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => ListChatsAsync(next)));

        Assert.Equal(fetches + 1, Jwks.Fetches);
        Assert.True(counters.Refreshes("unknown_kid", "success") == 1, counters.ToString());
        Assert.True(counters.AllUnknownKeyRefusals == 0, counters.ToString());
        // The old key is still published, and still works.
        await ListChatsAsync(fixture.Published);
    }

    [Fact]
    public async Task NeverPublishedKey_ThousandCalls_AreRefused_WithAtMostOneFetchPerMinimumInterval()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var stranger = TestSigner.Rsa($"never-published-{Guid.NewGuid():N}");
        var fetches = Jwks.Fetches;
        var unauthenticated = 0;
        var unavailable = 0;

        var clock = Stopwatch.StartNew();
        await Parallel.ForAsync(0, 1000, new ParallelOptions { MaxDegreeOfParallelism = 25, CancellationToken = Ct }, async (_, ct) =>
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => Fixture.WithToken(stranger.Token(TestUsers.New()))
                .ListChatsAsync(new ListChatsRequest(), cancellationToken: ct).ResponseAsync);
            // A call that waited for a fetch knows the key is not published; one inside the interval
            // cannot tell it from a key published since, and is told to retry.
            if (ex.StatusCode == StatusCode.Unauthenticated)
            {
                Assert.Contains("signed with a key this service does not know", ex.Status.Detail);
                Interlocked.Increment(ref unauthenticated);
            }
            else
            {
                Assert.True(ex.StatusCode == StatusCode.Unavailable, $"{ex.StatusCode}: {ex.Status.Detail}");
                Assert.Contains("fetched again only after a short interval; retry shortly", ex.Status.Detail);
                Interlocked.Increment(ref unavailable);
            }
        });
        clock.Stop();

        var made = Jwks.Fetches - fetches;
        var allowed = (int)(clock.Elapsed / JwksRotationFixture.MinimumRefreshInterval) + 1;
        Assert.Equal(1000, unauthenticated + unavailable);
        Assert.True(made >= 1 && made <= allowed, $"{made} fetches in {clock.Elapsed}, at most {allowed} allowed");
        Assert.True(counters.Refreshes("unknown_kid", "success") == made, counters.ToString());
        // Every call is counted once; those inside the interval were refused without a fetch.
        Assert.True(counters.UnknownKeyRefusals("not_published") == unauthenticated, counters.ToString());
        Assert.True(counters.UnknownKeyRefusals("throttled") == unavailable, counters.ToString());
        Assert.True(unauthenticated >= 1 && unavailable > 0, $"{unauthenticated} unauthenticated, {unavailable} unavailable");
    }

    [Fact]
    public async Task AKeyPublishedJustAfterAFetch_IsUnavailableInsideTheInterval_NotUnauthenticated_AndPassesAfterIt()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var late = TestSigner.Rsa($"rotation-late-{Guid.NewGuid():N}");

        // A token with a key nobody publishes uses the interval's fetch.
        await AssertStatusAsync(StatusCode.Unauthenticated, () => ListChatsAsync(TestSigner.Rsa($"never-{Guid.NewGuid():N}")));

        // The issuer publishes a key and signs with it at once: inside the interval the service cannot
        // look, so the client is told to retry rather than to sign the user out.
        Jwks.Publish(fixture.Published, late);
        var fetches = Jwks.Fetches;
        var ex = await AssertStatusAsync(StatusCode.Unavailable, () => ListChatsAsync(late));
        Assert.Contains("retry shortly", ex.Status.Detail);
        Assert.Equal(fetches, Jwks.Fetches);
        Assert.True(counters.UnknownKeyRefusals("throttled") == 1, counters.ToString());

        // The retry past the interval fetches, and passes.
        await Task.Delay(JwksRotationFixture.MinimumRefreshInterval, Ct);
        await ListChatsAsync(late);
        Assert.Equal(fetches + 1, Jwks.Fetches);
    }

    [Fact]
    public async Task JwksDown_NewKeyIsRefusedUnavailableWithinTheWait_KnownKeysUnaffected_AndItRecovers()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var next = TestSigner.Rsa($"rotation-down-{Guid.NewGuid():N}");
        Jwks.Publish(fixture.Published, next);
        Jwks.Down = true;
        try
        {
            var clock = Stopwatch.StartNew();
            var ex = await AssertStatusAsync(StatusCode.Unavailable, () => ListChatsAsync(next));
            Assert.True(clock.Elapsed < JwksRotationFixture.UnknownKeyWait + Slack, $"refused after {clock.Elapsed}");
            Assert.Contains("signing keys could not be fetched", ex.Status.Detail);

            await ListChatsAsync(fixture.Published);

            // Inside the minimum interval the new key is refused at once, still UNAVAILABLE, without a fetch.
            var fetches = Jwks.Fetches;
            await AssertStatusAsync(StatusCode.Unavailable, () => ListChatsAsync(next));
            Assert.Equal(fetches, Jwks.Fetches);
            Assert.True(counters.Refreshes("unknown_kid", "failure") == 1, counters.ToString());
            Assert.True(counters.UnknownKeyRefusals("unavailable") == 2, counters.ToString());
        }
        finally
        {
            Jwks.Down = false;
        }

        // Back up: after the interval the next call with the new key fetches again and passes.
        await Task.Delay(JwksRotationFixture.MinimumRefreshInterval, Ct);
        await ListChatsAsync(next);
        await ListChatsAsync(fixture.Published);
    }

    [Fact]
    public async Task JwksHanging_NewKeyIsRefusedUnavailableAfterTheWait_KnownKeysPassMeanwhile_AndTheFetchServesLaterCalls()
    {
        await ReadyAsync();
        var next = TestSigner.Rsa($"rotation-slow-{Guid.NewGuid():N}");
        var fetches = Jwks.Fetches;
        using (Jwks.Hang())
        {
            Jwks.Publish(fixture.Published, next);
            // Two calls with the new key: they share one fetch, and each gives up after the wait.
            var clock = Stopwatch.StartNew();
            var refusals = Enumerable.Range(0, 2).Select(async _ =>
            {
                await AssertStatusAsync(StatusCode.Unavailable, () => ListChatsAsync(next));
                return clock.Elapsed;
            }).ToList();

            // Known keys do not wait for the hanging fetch.
            var known = Stopwatch.StartNew();
            await ListChatsAsync(fixture.Published);
            Assert.True(known.Elapsed < JwksRotationFixture.UnknownKeyWait, $"a known key took {known.Elapsed}");

            foreach (var waited in await Task.WhenAll(refusals))
            {
                Assert.True(
                    waited >= JwksRotationFixture.UnknownKeyWait - TimeSpan.FromMilliseconds(100) && waited < JwksRotationFixture.UnknownKeyWait + Slack,
                    $"refused after {waited}");
            }

            Assert.Equal(fetches + 1, Jwks.Fetches);
        }

        // The issuer answers at last (far inside the fixture's 30 s fetch timeout): the fetch that hung
        // brings the new key, and no other is needed.
        await ListChatsAsync(next);
        Assert.Equal(fetches + 1, Jwks.Fetches);
    }

    [Fact]
    public async Task TokensThatCannotBeGood_AreRefused_WithoutAFetch()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var fetches = Jwks.Fetches;
        var payload = Encode($$"""{"sub":"mallory","iss":"{{TestSigner.Issuer}}","aud":"{{TestSigner.Audience}}","exp":{{DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()}}}""");
        var signature = Base64UrlEncoder.Encode(new byte[256]);
        string[] tokens =
        [
            // Unsigned, naming a key nobody published.
            $"{Encode("""{"alg":"none","kid":"made-up-1","typ":"JWT"}""")}.{payload}.",
            // An algorithm the service does not accept.
            $"{Encode("""{"alg":"RS1","kid":"made-up-2"}""")}.{payload}.{signature}",
            // No algorithm at all.
            $"{Encode("""{"kid":"made-up-3"}""")}.{payload}.{signature}",
            // A header that is not JSON, or not base64url.
            $"{Encode("kid=made-up-4")}.{payload}.{signature}",
            $"%%%.{payload}.{signature}",
            // A header far larger than any real one.
            $"{Encode("{\"alg\":\"RS256\",\"kid\":\"" + new string('k', 9000) + "\"}")}.{payload}.{signature}",
        ];

        foreach (var token in tokens)
        {
            var ex = await AssertStatusAsync(StatusCode.Unauthenticated, () => Fixture.WithToken(token)
                .ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync);
            Assert.DoesNotContain("could not be fetched", ex.Status.Detail);
        }

        Assert.Equal(fetches, Jwks.Fetches);
        Assert.True(counters.AllUnknownKeyRefusals == 0, counters.ToString());
    }

    /// <summary>
    /// A token whose claims fail (expired, not yet valid, no expiry, another audience or issuer) cannot be
    /// made good by any key: it is refused for that at once, with that reason, and causes no fetch, whether
    /// or not it names a kid. (A token without a kid that no key validates was searched for like an unknown
    /// kid, so an expired one waited for a fetch and, inside the interval, was told to retry UNAVAILABLE.)
    /// </summary>
    [Fact]
    public async Task TokensWhoseClaimsFail_AreRefusedForThem_WithoutAFetch_WithOrWithoutAKid()
    {
        await ReadyAsync();
        using var counters = new AuthCounters(Fixture.Service<IMeterFactory>());
        var fetches = Jwks.Fetches;
        var now = DateTime.UtcNow;
        (string Claims, string Mentions, Func<TestSigner, string> Token)[] cases =
        [
            ("expired", "has expired", s => s.Token(TestUsers.New(), expires: now.AddMinutes(-5), notBefore: now.AddMinutes(-30), issuedAt: now.AddMinutes(-30))),
            ("not yet valid", "not valid yet", s => s.Token(TestUsers.New(), notBefore: now.AddMinutes(10), expires: now.AddMinutes(20))),
            ("no expiry", "has no expiry", s => s.Token(TestUsers.New(), withExpiry: false)),
            ("another audience", "not issued for this service", s => s.Token(TestUsers.New(), audience: "someone-else")),
            ("another issuer", "issuer (iss) is not trusted", s => s.Token(TestUsers.New(), issuer: "https://evil.example/")),
        ];

        foreach (var keyId in new[] { null, $"never-{Guid.NewGuid():N}" })
        {
            var stranger = TestSigner.Rsa(keyId);
            foreach (var (claims, mentions, token) in cases)
            {
                var ex = await AssertStatusAsync(StatusCode.Unauthenticated, () => Fixture.WithToken(token(stranger))
                    .ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync);
                Assert.True(ex.Status.Detail.Contains(mentions, StringComparison.Ordinal), $"{claims}, kid {keyId ?? "none"}: {ex.Status.Detail}");
            }
        }

        Assert.Equal(fetches, Jwks.Fetches);
        Assert.True(counters.AllUnknownKeyRefusals == 0, counters.ToString());
    }

    /// <summary>
    /// Waits until the published key works (the start's fetch is done) and a minimum interval has passed
    /// since any fetch an earlier test caused, so each test starts from the same place.
    /// </summary>
    private async Task ReadyAsync()
    {
        await ListChatsAsync(fixture.Published);
        await Task.Delay(JwksRotationFixture.MinimumRefreshInterval, Ct);
    }

    private static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));

    private Task<ListChatsResponse> ListChatsAsync(TestSigner signer) =>
        Fixture.WithToken(signer.Token(TestUsers.New())).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync;
}
