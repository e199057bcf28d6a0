using System.Security.Claims;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Auth;

/// <summary>
/// Production-like identity (tokens only, no clock skew) with a claims transformation that counts how often
/// the caller scheme really authenticates a call, so reuse shows.
/// </summary>
public sealed class CallerReuseFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public TestSigner Rsa { get; } = TestSigner.Rsa("rsa-reuse");

    public CountingTransformation Authentications { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Auth:AllowUserIdHeader"] = "false",
        ["Auth:Issuer"] = TestSigner.Issuer,
        ["Auth:Audience"] = TestSigner.Audience,
        ["Auth:ClockSkew"] = "00:00:00",
        ["Auth:SigningKeys:0:KeyId"] = Rsa.Key.KeyId,
        ["Auth:SigningKeys:0:PublicKeyPem"] = Rsa.PublicKeyPem,
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IClaimsTransformation>(Authentications);

    public sealed class CountingTransformation : IClaimsTransformation
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            Interlocked.Increment(ref _count);
            return Task.FromResult(principal);
        }
    }
}

/// <summary>A caller authenticated once is reused for the same token, and only for it, never past its expiry.</summary>
public sealed class CallerReuseAuthTests(CallerReuseFixture fixture) : ApiTestBase(fixture), IClassFixture<CallerReuseFixture>
{
    private CallerReuseFixture Reuse => fixture;

    [Fact]
    public async Task SameToken_IsAuthenticatedOnce_AnotherTokenOnItsOwn()
    {
        var alice = TestUsers.New();
        var bob = TestUsers.New();
        var asAlice = Fixture.WithToken(Reuse.Rsa.Token(alice));
        var asBob = Fixture.WithToken(Reuse.Rsa.Token(bob));
        var aliceChat = await asAlice.CreateChatAsync(new CreateChatRequest { CharacterIds = { (await asAlice.CreateCharacterAsync(Ct)).CharacterId } }, cancellationToken: Ct);
        var afterAlice = Reuse.Authentications.Count;

        for (var i = 0; i < 20; i++)
        {
            await asAlice.GetHistoryAsync(new GetHistoryRequest { ChatId = aliceChat.ChatId }, cancellationToken: Ct);
        }

        Assert.Equal(afterAlice, Reuse.Authentications.Count);

        // Bob's token is judged on its own, and reusing Alice's caller never makes him Alice.
        await AssertStatusAsync(StatusCode.NotFound, () => asBob.GetHistoryAsync(new GetHistoryRequest { ChatId = aliceChat.ChatId }, cancellationToken: Ct).ResponseAsync);
        Assert.True(Reuse.Authentications.Count > afterAlice);
        var bobChats = await asBob.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        Assert.Empty(bobChats.Chats);
        var aliceChats = await asAlice.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        Assert.Equal(aliceChat.ChatId, Assert.Single(aliceChats.Chats).ChatId);
    }

    [Fact]
    public async Task ReusedToken_IsRefusedOnceItExpires()
    {
        var user = TestUsers.New();
        var setup = Fixture.WithToken(Reuse.Rsa.Token(user));
        var chat = await setup.CreateChatAsync(new CreateChatRequest { CharacterIds = { (await setup.CreateCharacterAsync(Ct)).CharacterId } }, cancellationToken: Ct);
        // exp has whole seconds: at least 2 s of validity for two calls, then the third must fail although reuse lasts a minute.
        var expires = DateTime.UtcNow.AddSeconds(3);
        var client = Fixture.WithToken(Reuse.Rsa.Token(user, expires: expires));
        await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var authenticated = Reuse.Authentications.Count;
        await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(authenticated, Reuse.Authentications.Count);

        await Task.Delay(expires - DateTime.UtcNow + TimeSpan.FromMilliseconds(500), Ct);

        var refused = await AssertStatusAsync(StatusCode.Unauthenticated, () => client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("expired", refused.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task RefusedToken_IsNotRemembered()
    {
        var user = TestUsers.New();
        // Not valid for two seconds yet (no clock skew here): refused now, accepted once nbf has passed.
        var notBefore = DateTime.UtcNow.AddSeconds(2);
        var client = Fixture.WithToken(Reuse.Rsa.Token(user, notBefore: notBefore));

        await AssertStatusAsync(StatusCode.Unauthenticated, () => client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync);
        await Task.Delay(notBefore - DateTime.UtcNow + TimeSpan.FromMilliseconds(1500), Ct);

        await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
    }
}
