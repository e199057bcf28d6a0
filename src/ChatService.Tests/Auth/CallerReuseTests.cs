using System.Security.Claims;
using ChatService.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Auth;

/// <summary>Which credentials a call is reused by, and for how long (unit tests on a fake clock).</summary>
public sealed class CallerReuseTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-06T10:00:00Z"));

    [Fact]
    public void SameCredentials_FindTheCaller_OtherCredentialsDoNot()
    {
        var reuse = Reuse();
        var alice = Principal("alice");
        var token = reuse.CredentialsOf(Headers(("authorization", "Bearer aaa")));
        reuse.Remember(token, alice, expires: null);

        Assert.Same(alice, reuse.Find(reuse.CredentialsOf(Headers(("authorization", "Bearer aaa")))));
        Assert.Null(reuse.Find(reuse.CredentialsOf(Headers(("authorization", "Bearer aab")))));
        Assert.Null(reuse.Find(reuse.CredentialsOf(Headers(("authorization", "bearer aaa")))));
        // The same value in the development header is another credential.
        Assert.Null(reuse.Find(reuse.CredentialsOf(Headers(("x-user-id", "Bearer aaa")))));
    }

    [Fact]
    public void AuthorizationHeader_DecidesEvenWithTheUserIdHeader()
    {
        var reuse = Reuse();
        reuse.Remember(reuse.CredentialsOf(Headers(("x-user-id", "alice"))), Principal("alice"), expires: null);

        // A call with a token is judged by the token, never by a development header reused before.
        var both = reuse.CredentialsOf(Headers(("authorization", "Bearer garbage"), ("x-user-id", "alice")));
        Assert.True(both.IsBearer);
        Assert.Null(reuse.Find(both));
    }

    [Fact]
    public void UserIdHeader_WithoutTheSwitch_IsNothingToReuse()
    {
        var reuse = Reuse(allowUserIdHeader: false);

        Assert.Null(reuse.CredentialsOf(Headers(("x-user-id", "alice"))).Value);
        Assert.NotNull(reuse.CredentialsOf(Headers(("authorization", "Bearer aaa"))).Value);
    }

    [Theory]
    [InlineData("bearer aaa")]
    [InlineData("BEARER aaa")]
    [InlineData("Bearer  aaa")]
    [InlineData("Bearer aaa ")]
    [InlineData("Bearer\taaa")]
    [InlineData("Bearer ")]
    [InlineData("Basic aaa")]
    public void OtherSpellingsOfABearerHeader_AreNeverReused(string header)
    {
        var reuse = Reuse();

        Assert.Null(reuse.CredentialsOf(Headers(("authorization", header))).Value);
    }

    [Fact]
    public void OversizedCredentials_AreNeverReused()
    {
        var reuse = Reuse();

        Assert.NotNull(reuse.CredentialsOf(Headers(("authorization", "Bearer " + new string('a', CallerReuse.MaxTokenLength)))).Value);
        Assert.Null(reuse.CredentialsOf(Headers(("authorization", "Bearer " + new string('a', CallerReuse.MaxTokenLength + 1)))).Value);
        Assert.Null(reuse.CredentialsOf(Headers(("x-user-id", new string('u', CallerIds.MaxLength + 1)))).Value);
    }

    [Fact]
    public async Task ConcurrentFirstCalls_WithOneToken_KeepOneCaller()
    {
        var reuse = Reuse(limit: 100_000);
        for (var round = 0; round < 200; round++)
        {
            var credentials = reuse.CredentialsOf(Headers(("authorization", $"Bearer token-{round}")));
            var principal = Principal($"user-{round}");
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => reuse.Remember(credentials, principal, expires: null))));
        }

        Assert.Equal(200, reuse.Count);
    }

    [Fact]
    public void RepeatedHeaders_AreNeverReused()
    {
        var reuse = Reuse();

        Assert.Null(reuse.CredentialsOf(Headers(("authorization", "Bearer a"), ("authorization", "Bearer b"))).Value);
        Assert.Null(reuse.CredentialsOf(Headers(("x-user-id", "alice"), ("x-user-id", "bob"))).Value);
    }

    [Fact]
    public void Caller_IsReusedForTheConfiguredTime()
    {
        var reuse = Reuse(lifetime: TimeSpan.FromSeconds(30));
        var credentials = reuse.CredentialsOf(Headers(("authorization", "Bearer aaa")));
        reuse.Remember(credentials, Principal("alice"), expires: _time.GetUtcNow().AddHours(1));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.NotNull(reuse.Find(credentials));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(reuse.Find(credentials));
    }

    [Fact]
    public void Caller_IsNeverReusedPastTheTokensExpiry()
    {
        var reuse = Reuse(lifetime: TimeSpan.FromMinutes(5));
        var credentials = reuse.CredentialsOf(Headers(("authorization", "Bearer aaa")));
        reuse.Remember(credentials, Principal("alice"), expires: _time.GetUtcNow().AddSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.NotNull(reuse.Find(credentials));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(reuse.Find(credentials));

        // A token accepted within the clock skew after its expiry is not kept at all.
        reuse.Remember(credentials, Principal("alice"), expires: _time.GetUtcNow().AddSeconds(-1));
        Assert.Null(reuse.Find(credentials));
    }

    [Fact]
    public void ZeroReuse_ValidatesEveryCall()
    {
        var reuse = Reuse(lifetime: TimeSpan.Zero);
        var credentials = reuse.CredentialsOf(Headers(("authorization", "Bearer aaa")));
        reuse.Remember(credentials, Principal("alice"), expires: null);

        Assert.Null(credentials.Value);
        Assert.Null(reuse.Find(credentials));
    }

    [Fact]
    public void Limit_BoundsTheCallersKept()
    {
        var reuse = Reuse(limit: 10);
        for (var i = 0; i < 100; i++)
        {
            reuse.Remember(reuse.CredentialsOf(Headers(("x-user-id", $"user-{i}"))), Principal($"user-{i}"), expires: null);
            Assert.InRange(reuse.Count, 1, 10);
        }

        // The newest is always kept.
        Assert.NotNull(reuse.Find(reuse.CredentialsOf(Headers(("x-user-id", "user-99")))));
    }

    [Fact]
    public void Limit_DropsExpiredCallersFirst()
    {
        var reuse = Reuse(limit: 3, lifetime: TimeSpan.FromMinutes(1));
        var expired = reuse.CredentialsOf(Headers(("x-user-id", "expired")));
        reuse.Remember(expired, Principal("expired"), expires: _time.GetUtcNow().AddSeconds(5));
        var kept = new[] { "a", "b" }.Select(id => reuse.CredentialsOf(Headers(("x-user-id", id)))).ToList();
        foreach (var credentials in kept)
        {
            reuse.Remember(credentials, Principal(credentials.Value!), expires: null);
        }

        _time.Advance(TimeSpan.FromSeconds(10));
        reuse.Remember(reuse.CredentialsOf(Headers(("x-user-id", "c"))), Principal("c"), expires: null);

        Assert.Null(reuse.Find(expired));
        Assert.All(kept, credentials => Assert.NotNull(reuse.Find(credentials)));
    }

    private CallerReuse Reuse(TimeSpan? lifetime = null, int limit = 1000, bool allowUserIdHeader = true) =>
        new(Options.Create(new AuthOptions
        {
            CallerReuse = lifetime ?? TimeSpan.FromMinutes(1),
            CallerReuseLimit = limit,
            AllowUserIdHeader = allowUserIdHeader,
        }), _time);

    private static HeaderDictionary Headers(params (string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary.Append(name, value);
        }

        return dictionary;
    }

    private static ClaimsPrincipal Principal(string userId) =>
        new(new ClaimsIdentity([new Claim(CallerAuthentication.UserIdClaim, userId)], "test"));
}
