using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>UpdateCharacter: masks, versions, the owner-only rule; and DeleteCharacter.</summary>
public sealed class UpdateCharacterTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private async Task<Character> UpdateAsync(string user, Character character, params string[] paths) =>
        await Fixture.Client(user).UpdateCharacterAsync(
            new UpdateCharacterRequest { Character = character, UpdateMask = new FieldMask { Paths = { paths } } }, cancellationToken: Ct);

    private async Task<Character> GetAsync(string user, string characterId) =>
        await Fixture.Client(user).GetCharacterAsync(new GetCharacterRequest { CharacterId = characterId }, cancellationToken: Ct);

    [Fact]
    public async Task UpdateCharacter_WithAMask_ReplacesOnlyThoseFields_AsTheNextVersion()
    {
        var user = TestUsers.New();
        var created = await CreateCharacterAsync(user, "Ada", "Hello!");

        var updated = await UpdateAsync(user, new Character
        {
            CharacterId = created.CharacterId,
            Scenario = "A rainy afternoon in the library.",
            Tags = { "math" },
            DisplayName = "ignored: not in the mask",
        }, "scenario", "tags");

        Assert.Equal(2, updated.Version);
        Assert.Equal("A rainy afternoon in the library.", updated.Scenario);
        Assert.Equal(["math"], updated.Tags);
        Assert.Equal(("Ada", created.Persona, "Hello!", created.CreateTime), (updated.DisplayName, updated.Persona, updated.Greeting, updated.CreateTime));
        Assert.NotNull(updated.UpdateTime);
        Assert.Equal(updated, await GetAsync(user, created.CharacterId));
    }

    [Fact]
    public async Task UpdateCharacter_WithoutAMask_ReplacesEveryFieldItsAuthorSets()
    {
        var user = TestUsers.New();
        var created = await Fixture.Client(user).CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada", Persona = "Old.", Greeting = "Hi", Scenario = "Old scenario", Tags = { "old" }, Visibility = Visibility.Public,
        }, cancellationToken: Ct);

        var updated = await UpdateAsync(user, new Character { CharacterId = created.CharacterId, DisplayName = "Ada Lovelace", Description = "New." });

        Assert.Equal(("Ada Lovelace", "", "New.", "", "", Visibility.Private, "default"),
            (updated.DisplayName, updated.Persona, updated.Description, updated.Greeting, updated.Scenario, updated.Visibility, updated.ModelRoute));
        Assert.Empty(updated.Tags);
        Assert.Equal(2, updated.Version);
    }

    [Fact]
    public async Task UpdateCharacter_ThatWouldMakeItsCardExportTooLargeToImport_IsRefusedAsAnImportWouldBe_AndChangesNothing()
    {
        // A card imported in a PNG whose picture leaves about 64 KB for the V3 export's two card chunks.
        var user = TestUsers.New();
        var card = "{\"spec\":\"chara_card_v2\",\"spec_version\":\"2.0\",\"data\":{\"name\":\"Pictured\",\"description\":\"Small.\"}}";
        var fill = global::ChatService.Cards.CardLimits.MaxPngBytes - (64 * 1024);
        var png = Cards.TestPng.With(Cards.TestPng.Chunk("fiLl", new byte[fill]), Cards.TestPng.Card(card));
        var imported = await Fixture.Client(user).ImportCharacterCardAsync(
            new ImportCharacterCardRequest { Png = Google.Protobuf.ByteString.CopyFrom(png) }, cancellationToken: Ct);

        // 30,000 characters more travel twice in base64 (the V3 card and its V2 copy): ≈ 80 KB more than the room left.
        var ex = await Assert.ThrowsAsync<RpcException>(() => UpdateAsync(user,
            new Character { CharacterId = imported.CharacterId, Description = new string('d', 30_000) }, "description"));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("a V3 PNG export", ex.Status.Detail);
        Assert.Contains("what is exported must import again", ex.Status.Detail);
        Assert.Equal(imported, await GetAsync(user, imported.CharacterId));

        // A change that keeps the export within what an import takes is made.
        var updated = await UpdateAsync(user, new Character { CharacterId = imported.CharacterId, Description = new string('d', 10_000) }, "description");
        Assert.Equal((2L, 10_000), (updated.Version, updated.Description.Length));
    }

    [Fact]
    public async Task UpdateCharacter_OfAVersionNoLongerCurrent_IsAborted_AndChangesNothing()
    {
        var user = TestUsers.New();
        var created = await CreateCharacterAsync(user);
        var second = await UpdateAsync(user, new Character { CharacterId = created.CharacterId, Version = 1, Scenario = "first edit" }, "scenario");

        var ex = await AssertStatusAsync(StatusCode.Aborted, () =>
            UpdateAsync(user, new Character { CharacterId = created.CharacterId, Version = 1, Scenario = "a stale edit" }, "scenario"));

        Assert.Contains("version 2", ex.Status.Detail);
        Assert.Equal(second, await GetAsync(user, created.CharacterId));
        var third = await UpdateAsync(user, new Character { CharacterId = created.CharacterId, Version = 2, Scenario = "second edit" }, "scenario");
        Assert.Equal(3, third.Version);
    }

    public static TheoryData<string, string> BadUpdates => new()
    {
        { "unknown-path", "update_mask" },
        { "service-set-path", "update_mask" },
        { "version-path", "update_mask" },
        { "no-character", "character" },
        { "malformed-id", "character.character_id" },
        { "negative-version", "character.version" },
        { "blank-name", "character.display_name" },
        { "bad-tag", "character.tags[0]" },
        { "nothing-left-defined", "character.persona" },
        { "definition-grown-too-large", "character.scenario" },
    };

    [Theory]
    [MemberData(nameof(BadUpdates))]
    public async Task UpdateCharacter_BadRequest_IsInvalidArgumentNamingTheField_AndChangesNothing(string scenario, string field)
    {
        var user = TestUsers.New();
        var created = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ada", Persona = "Persona.", Description = new string('d', 30_000) }, cancellationToken: Ct);
        var character = new Character { CharacterId = created.CharacterId };
        var paths = new List<string> { "display_name" };
        character.DisplayName = "New name";
        switch (scenario)
        {
            case "unknown-path": paths.Add("displayName"); break;
            case "service-set-path": paths.Add("create_time"); break;
            case "version-path": paths.Add("version"); break;
            case "no-character": character = null; break;
            case "malformed-id": character.CharacterId = "ada"; break;
            case "negative-version": character.Version = -1; break;
            case "blank-name": character.DisplayName = " "; break;
            case "bad-tag": paths.Add("tags"); character.Tags.Add("no/slashes"); break;
            case "nothing-left-defined": paths = ["persona", "description"]; break;
            case "definition-grown-too-large": paths = ["scenario"]; character.Scenario = new string('s', 2001); break;
        }

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user).UpdateCharacterAsync(
            new UpdateCharacterRequest { Character = character, UpdateMask = new FieldMask { Paths = { paths } } }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(field, FieldOf(ex));
        Assert.Equal(created, await GetAsync(user, created.CharacterId));
    }

    [Fact]
    public async Task UpdateCharacter_OfAnotherUser_IsNotFoundWhenPrivate_PermissionDeniedWhenTheyCanSeeIt()
    {
        var owner = TestUsers.New();
        var intruder = TestUsers.New();
        var hidden = await CreateCharacterAsync(owner);
        var shared = await CreateCharacterAsync(owner, "Pat", visibility: Visibility.Public);

        await AssertStatusAsync(StatusCode.NotFound, () => UpdateAsync(intruder, new Character { CharacterId = hidden.CharacterId, DisplayName = "Mine" }, "display_name"));
        await AssertStatusAsync(StatusCode.PermissionDenied, () => UpdateAsync(intruder, new Character { CharacterId = shared.CharacterId, DisplayName = "Mine" }, "display_name"));
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(intruder).DeleteCharacterAsync(
            new DeleteCharacterRequest { CharacterId = hidden.CharacterId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.PermissionDenied, () => Fixture.Client(intruder).DeleteCharacterAsync(
            new DeleteCharacterRequest { CharacterId = shared.CharacterId }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(hidden, await GetAsync(owner, hidden.CharacterId));
        Assert.Equal(shared, await GetAsync(owner, shared.CharacterId));
    }

    [Fact]
    public async Task DeleteCharacter_LeavesTheListing_RefusesNewChats_KeepsOldChatsReadableAndAnswering()
    {
        var owner = TestUsers.New();
        var fan = TestUsers.New();
        var ada = await CreateCharacterAsync(owner, "Ada", visibility: Visibility.Public);
        var kept = await CreateCharacterAsync(owner, "Bob");
        var fansChat = await CreateChatAsync(fan, ada);
        await SendAsync(fan, fansChat.ChatId, "before");

        await Fixture.Client(owner).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = ada.CharacterId }, cancellationToken: Ct);

        var listed = await Fixture.Client(owner).ListCharactersAsync(new ListCharactersRequest(), cancellationToken: Ct);
        Assert.Equal([kept.CharacterId], listed.Characters.Select(c => c.CharacterId));
        await AssertStatusAsync(StatusCode.NotFound, () => CreateChatAsync(fan, ada));
        await AssertStatusAsync(StatusCode.NotFound, () => CreateChatAsync(owner, kept, ada));

        // Whoever could see it still can, deleted, so chats with it can show who it was.
        var seen = await GetAsync(fan, ada.CharacterId);
        Assert.NotNull(seen.DeleteTime);
        Assert.Equal(ada.Version, seen.Version);
        Assert.NotNull((await GetAsync(owner, ada.CharacterId)).DeleteTime);

        // The chat stays readable, and its replies keep using the character's last version.
        var history = await Fixture.Client(fan).GetHistoryAsync(new GetHistoryRequest { ChatId = fansChat.ChatId }, cancellationToken: Ct);
        Assert.Equal(3, history.Turns.Count);
        var events = await SendAsync(fan, fansChat.ChatId, "after");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(ada.CharacterId, events[^1].Completed.Turn.CharacterId);
    }

    [Fact]
    public async Task DeleteCharacter_Again_ChangesNothing_AndADeletedCharacterCannotBeUpdated()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user);
        await Fixture.Client(user).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = ada.CharacterId }, cancellationToken: Ct);
        var deleted = await GetAsync(user, ada.CharacterId);

        await Fixture.Client(user).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = ada.CharacterId }, cancellationToken: Ct);

        Assert.Equal(deleted, await GetAsync(user, ada.CharacterId));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => UpdateAsync(user, new Character { CharacterId = ada.CharacterId, Scenario = "x" }, "scenario"));
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(user).DeleteCharacterAsync(
            new DeleteCharacterRequest { CharacterId = Guid.NewGuid().ToString() }, cancellationToken: Ct).ResponseAsync);
    }
}
