using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Api;

public sealed class CharacterTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task CreateCharacter_ThenGet_ReturnsWhatWasStored()
    {
        var user = TestUsers.New();
        var created = await CreateCharacterAsync(user, "Grace", "Hi, I'm Grace.");

        var fetched = await Fixture.Client(user).GetCharacterAsync(new GetCharacterRequest { CharacterId = created.CharacterId }, cancellationToken: Ct);

        Assert.Equal(created, fetched);
        Assert.Equal("Grace", fetched.DisplayName);
        Assert.Equal("default", fetched.ModelRoute);
        Assert.Equal(Visibility.Private, fetched.Visibility);
        Assert.True(fetched.CreateTime.ToDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Characters WHERE CharacterId = @id", ("id", created.CharacterId)));
    }

    [Fact]
    public async Task GetCharacter_PrivateCharacterOfAnotherUser_IsNotFound()
    {
        var owner = TestUsers.New();
        var created = await CreateCharacterAsync(owner);

        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(TestUsers.New()).GetCharacterAsync(new GetCharacterRequest { CharacterId = created.CharacterId }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task GetCharacter_PublicCharacter_IsVisibleToEveryone()
    {
        var created = await CreateCharacterAsync(TestUsers.New(), visibility: Visibility.Public);

        var fetched = await Fixture.Client(TestUsers.New()).GetCharacterAsync(new GetCharacterRequest { CharacterId = created.CharacterId }, cancellationToken: Ct);

        Assert.Equal(created.CharacterId, fetched.CharacterId);
    }

    [Theory]
    [InlineData("", "persona", "display_name")]
    [InlineData("Ada", "", "persona")]
    [InlineData("Ada", "persona", "model_route", "Not A Route!")]
    [InlineData("Ada", "persona", "model_route", "no-such-route")]
    public async Task CreateCharacter_InvalidField_IsInvalidArgumentAndWritesNothing(string name, string persona, string field, string route = "")
    {
        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(TestUsers.New()).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = name, Persona = persona, ModelRoute = route }, cancellationToken: Ct).ResponseAsync);

        Assert.Contains(field, ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }
}
