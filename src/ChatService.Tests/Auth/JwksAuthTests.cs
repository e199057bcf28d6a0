using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Auth;

/// <summary>Keys fetched from the issuer's JWKS URL: cached, and fetched again when a token names a new key (see also <see cref="JwksRotationTests"/>).</summary>
/// <remarks>The tests share the key server, so they run one after another (xunit runs a class's tests in sequence).</remarks>
public sealed class JwksAuthTests(JwksFixture fixture) : ApiTestBase(fixture), IClassFixture<JwksFixture>
{
    private FakeJwksServer Jwks => fixture.Jwks;

    [Fact]
    public async Task TokensSignedWithPublishedKeys_AreAccepted_AndTheKeysAreCached()
    {
        var user = TestUsers.New();
        await Fixture.WithToken(fixture.Published.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        var fetches = Jwks.Fetches;

        for (var i = 0; i < 5; i++)
        {
            var signer = i % 2 == 0 ? fixture.Published : fixture.PublishedEc;
            await Fixture.WithToken(signer.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        }

        var character = await Fixture.WithToken(fixture.Published.Token(user)).CreateCharacterAsync(Ct);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Characters WHERE CharacterId = @c AND OwnerUserId = @u",
            ("c", character.CharacterId), ("u", user)));
        // Fetched once at first use, then served from the cache.
        Assert.True(fetches >= 1);
        Assert.Equal(fetches, Jwks.Fetches);
    }

    [Fact]
    public async Task TokenSignedWithAnUnpublishedKey_IsUnauthenticated_AndWritesNothing()
    {
        await PastTheMinimumIntervalAsync();
        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithToken(TestSigner.Rsa("not-published").Token(TestUsers.New())).CreateCharacterAsync(Ct));

        Assert.Contains("key", ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task RotatedKey_IsAcceptedOnceTheIssuerPublishesIt()
    {
        var user = TestUsers.New();
        var next = TestSigner.Rsa("jwks-rsa-2");
        await Fixture.WithToken(fixture.Published.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        await PastTheMinimumIntervalAsync();

        // Not published yet: refused.
        await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithToken(next.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync);

        // The issuer rotates. The refusal above fetched the set for the unknown kid, so the service
        // fetches again only after Auth:JwksMinimumRefreshInterval (here 1 s); past it, the very first
        // call with the new key waits for that fetch and passes.
        Jwks.Publish(fixture.Published, fixture.PublishedEc, next);
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        await Fixture.WithToken(next.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);

        // Old tokens still work while their key is published.
        await Fixture.WithToken(fixture.Published.Token(user)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
    }

    /// <summary>
    /// Lets Auth:JwksMinimumRefreshInterval (1 s here) pass since any fetch an earlier test caused: inside
    /// it an unknown key is refused UNAVAILABLE without a look, and these tests want the look.
    /// </summary>
    private static Task PastTheMinimumIntervalAsync() => Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
}
