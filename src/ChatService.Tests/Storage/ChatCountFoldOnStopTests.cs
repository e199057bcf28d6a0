using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Storage;

/// <summary>A replica whose chat-count folds would wait ten minutes, so only its stop can run them.</summary>
public sealed class SlowFoldFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Chat:ChatCountFoldInterval"] = "00:10:00",
    };
}

/// <summary>The folds CreateChat schedules are not lost when the replica that scheduled them stops.</summary>
public sealed class ChatCountFoldOnStopTests(SlowFoldFixture fixture) : ApiTestBase(fixture), IClassFixture<SlowFoldFixture>
{
    [Fact]
    public async Task AStoppingReplica_RunsTheFoldsStillWaiting_BeforeItGoes()
    {
        var user = TestUsers.New();
        var character = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Counted On Stop", Persona = "Counts.", Visibility = Visibility.Public }, cancellationToken: Ct);
        for (var i = 0; i < 3; i++)
        {
            await Fixture.Client(user).CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        }

        // Scheduled, not run: the interval is ten minutes.
        Assert.True(Fixture.Service<global::ChatService.Storage.ChatCountFolder>().InFlight > 0);
        Assert.Equal(0, await ChatCountAsync(character.CharacterId));

        await Fixture.Factory.DisposeAsync();

        Assert.Equal(3, await ChatCountAsync(character.CharacterId));
        Assert.Equal(3, await Fixture.CountAsync(
            "SELECT ChatCount FROM CatalogTerms WHERE Listing = '' AND Term = '' AND CharacterId = @id", ("id", character.CharacterId)));
    }

    private Task<long> ChatCountAsync(string characterId) =>
        Fixture.CountAsync("SELECT IFNULL(ChatCount, 0) FROM Characters WHERE CharacterId = @id", ("id", characterId));
}
