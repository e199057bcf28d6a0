using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Auth;

/// <summary>Local development (Auth:AllowUserIdHeader on, no keys configured), as the other tests run.</summary>
public sealed class LocalModeAuthTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task UserIdHeader_WithTheSwitchOn_NamesTheCaller()
    {
        var user = TestUsers.New();

        var character = await Fixture.WithHeaders(("x-user-id", user)).CreateCharacterAsync(Ct);

        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Characters WHERE CharacterId = @c AND OwnerUserId = @u",
            ("c", character.CharacterId), ("u", user)));
    }

    [Fact]
    public async Task BearerTokenThatFails_IsUnauthenticated_EvenWithTheHeader()
    {
        var user = TestUsers.New();
        // Signed properly, but this service trusts no keys: the header must not rescue it.
        var token = TestSigner.Rsa("k").Token(user);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithHeaders(("authorization", $"Bearer {token}"), ("x-user-id", user)).CreateCharacterAsync(Ct));
        await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithHeaders(("authorization", "Bearer garbage"), ("x-user-id", user)).CreateCharacterAsync(Ct));

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Theory]
    [InlineData(" padded")]
    [InlineData("tab\there")]
    public async Task MalformedUserIdHeader_IsUnauthenticated(string userId)
    {
        var ex = await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithHeaders(("x-user-id", userId)).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct).ResponseAsync);

        Assert.Contains("x-user-id", ex.Status.Detail);
    }
}
