using System.Text;
using System.Text.Json;
using ChatService.Api.V1;
using ChatService.Cards;
using ChatService.Tests.Cards;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>ImportCharacterCard and ExportCharacterCard over gRPC, on the emulator: JSON and PNG, both specs, round trips.</summary>
public sealed class CharacterCardTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task ImportJson_CreatesAPrivateCharacterOfTheCaller_WithTheCardsFields()
    {
        var user = TestUsers.New();

        var character = await ImportAsync(user, new ImportCharacterCardRequest { Json = CardFixtures.V2 });

        Assert.Equal("Captain Mara Voss", character.DisplayName);
        Assert.Equal("", character.Persona);
        Assert.StartsWith("{{char}} is the weathered captain", character.Description);
        Assert.Equal("gruff, loyal, dry humour, hates debt", character.Personality);
        Assert.StartsWith("{{user}} has just signed on", character.Scenario);
        Assert.StartsWith("*Mara looks up", character.Greeting);
        Assert.StartsWith("<START>", character.ExampleDialogues);
        Assert.StartsWith("Write {{char}}", character.SystemPrompt);
        Assert.StartsWith("Stay in character", character.PostHistoryInstructions);
        Assert.Equal(2, character.AlternateGreetings.Count);
        Assert.StartsWith("Works best", character.CreatorNotes);
        Assert.Equal(new[] { "Fantasy", "Steampunk", "Female", "Adventure" }, character.Tags);
        Assert.Equal("skywright", character.Creator);
        Assert.Equal("1.2", character.CharacterVersion);
        Assert.Equal(Visibility.Private, character.Visibility);
        Assert.Equal("default", character.ModelRoute);
        Assert.Equal(1, character.Version);
        Assert.Equal(character, await Fixture.Client(user).GetCharacterAsync(new GetCharacterRequest { CharacterId = character.CharacterId }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, () => ExportAsync(TestUsers.New(), character.CharacterId));
    }

    [Fact]
    public async Task ImportedCharacter_StartsAChat_WithTheCardsGreeting()
    {
        var user = TestUsers.New();
        var character = await ImportAsync(user, new ImportCharacterCardRequest { Json = CardFixtures.V3, Visibility = Visibility.Unlisted });

        var chat = await CreateChatAsync(user, character);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(character.Greeting, Assert.Single(history.Turns).Text);
        Assert.Equal(Visibility.Unlisted, character.Visibility);
    }

    [Theory]
    [InlineData(CardFixtures.V2)]
    [InlineData(CardFixtures.V3)]
    public async Task ImportThenExport_GivesBackTheCard_AndAReimportExportsItAgainUnchanged(string card)
    {
        var user = TestUsers.New();
        var first = await ImportAsync(user, new ImportCharacterCardRequest { Json = card });

        var exported = await ExportAsync(user, first.CharacterId);
        var second = await ImportAsync(user, new ImportCharacterCardRequest { Json = exported.Json });

        CardJson.AssertSame(card, exported.Json);
        Assert.Equal(exported.Json, (await ExportAsync(user, second.CharacterId)).Json);
        Assert.Equal(Comparable(first), Comparable(second));
        Assert.Equal($"{first.DisplayName}.card.json", exported.FileName);
        Assert.True(exported.Png.IsEmpty);
    }

    [Fact]
    public async Task V3CardExportedAsV2_ComesBackWhole_WhenThatIsImportedAndExportedAsV3()
    {
        var user = TestUsers.New();
        var v3 = await ImportAsync(user, new ImportCharacterCardRequest { Json = CardFixtures.V3 });

        var v2 = await ExportAsync(user, v3.CharacterId, CardSpec.V2);
        var again = await ImportAsync(user, new ImportCharacterCardRequest { Json = v2.Json });

        Assert.Equal("chara_card_v2", CardJson.Parse(v2.Json)["spec"]!.GetValue<string>());
        CardJson.AssertSame(CardFixtures.V3, (await ExportAsync(user, again.CharacterId, CardSpec.V3)).Json, keyOrder: false);
    }

    [Fact]
    public async Task V3CardAsDeepAsAllowed_ExportsAsV2_WhichImportsAndExportsAsV3Again()
    {
        var user = TestUsers.New();
        var v3 = await ImportAsync(user, new ImportCharacterCardRequest { Json = CardDepthTests.DeepCard(CardFormat.V3, CardLimits.MaxNonV2FieldDepth) });

        var v2 = await ExportAsync(user, v3.CharacterId, CardSpec.V2);
        var again = await ImportAsync(user, new ImportCharacterCardRequest { Json = v2.Json });

        var back = await ExportAsync(user, again.CharacterId, CardSpec.V3);
        CardJson.AssertSame((await ExportAsync(user, v3.CharacterId)).Json, back.Json, keyOrder: false);
    }

    [Fact]
    public async Task PngImport_ExportsThePictureItCameIn_WithFreshCardChunks_AndReimportsUnchanged()
    {
        var user = TestUsers.New();
        byte[][] picture = [TestPng.Header(), TestPng.Text("Software", "hand drawn"), TestPng.Chunk("pHYs", new byte[9]), TestPng.Pixels()];
        var png = TestPng.Raw([.. picture.Take(2), TestPng.Card(CardFixtures.V2), .. picture.Skip(2), TestPng.End()]);
        var imported = await ImportAsync(user, new ImportCharacterCardRequest { Png = ByteString.CopyFrom(png) });

        var exported = await ExportAsync(user, imported.CharacterId, png: true);
        var reimported = await ImportAsync(user, new ImportCharacterCardRequest { Png = exported.Png });

        var chunks = TestPng.ChunksOf(exported.Png.ToByteArray());
        Assert.Equal(picture, chunks.Take(picture.Length).Select(c => c.Bytes));
        Assert.Equal(new[] { "tEXt", "IEND" }, chunks.Skip(picture.Length).Select(c => c.Type));
        var (keyword, text) = TestPng.TextOf(chunks[picture.Length].Data);
        Assert.Equal("chara", keyword);
        CardJson.AssertSame(CardFixtures.V2, Decode(text));
        Assert.Equal(Comparable(imported), Comparable(reimported));
        Assert.Equal("Captain Mara Voss.png", exported.FileName);
        Assert.Equal("", exported.Json);
    }

    [Fact]
    public async Task V3PngExport_CarriesTheV3CardAndAV2Copy()
    {
        var user = TestUsers.New();
        var imported = await ImportAsync(user, new ImportCharacterCardRequest { Png = ByteString.CopyFrom(TestPng.With(TestPng.Card(CardFixtures.V3, "ccv3"))) });

        var png = (await ExportAsync(user, imported.CharacterId, png: true)).Png.ToByteArray();

        var texts = TestPng.ChunksOf(png).Where(c => c.Type == "tEXt").Select(c => TestPng.TextOf(c.Data)).ToList();
        Assert.Equal(new[] { "ccv3", "chara" }, texts.Select(t => t.Keyword));
        CardJson.AssertSame(CardFixtures.V3, Decode(texts[0].Text));
        var copy = CardJson.Parse(Decode(texts[1].Text));
        Assert.Equal("chara_card_v2", copy["spec"]!.GetValue<string>());
        Assert.StartsWith(CardWriter.V2CopyNotice, copy["data"]!["creator_notes"]!.GetValue<string>());
    }

    [Fact]
    public async Task CharacterMadeHere_ExportsAsAV3Card_InAPlaceholderPng()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user, "Ada");

        var exported = await ExportAsync(user, character.CharacterId, png: true);

        var png = exported.Png.ToByteArray();
        Assert.Equal(new[] { "IHDR", "IDAT", "tEXt", "tEXt", "IEND" }, PngFile.Chunks(png).Select(c => c.Type));
        var card = CardJson.Parse(Encoding.UTF8.GetString(PngCardReader.ReadCardJson(png)));
        Assert.Equal("chara_card_v3", card["spec"]!.GetValue<string>());
        Assert.Equal(character.Persona, card["data"]!["description"]!.GetValue<string>());
        Assert.Equal(character.Greeting, card["data"]!["first_mes"]!.GetValue<string>());
    }

    [Fact]
    public async Task KeptCardJson_IsReadForExportOnly_NotWithTheCharacterThatIsCached()
    {
        var user = TestUsers.New();
        var blob = new string('k', CardLimits.MaxKeptBytes - 1024);
        var imported = await ImportAsync(user, new ImportCharacterCardRequest
        {
            Json = "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"Kept\",\"extensions\":{\"blob\":\"" + blob + "\"}}}",
        });

        var cached = Assert.Single(await Fixture.Service<ChatService.Chats.ICharacterStore>().GetManyAsync([imported.CharacterId], Ct));
        var exported = CardJson.Parse((await ExportAsync(user, imported.CharacterId)).Json);

        var size = JsonSerializer.SerializeToUtf8Bytes(cached).Length;
        Assert.True(size < 4096, $"the cached character is {size} bytes of JSON");
        Assert.Equal(blob, exported["data"]!["extensions"]!["blob"]!.GetValue<string>());
    }

    [Fact]
    public async Task Export_OfAnotherUsersPublicOrUnlistedCharacter_IsAllowed_OfAPrivateOneNotFound()
    {
        var owner = TestUsers.New();
        var reader = TestUsers.New();
        var shared = await ImportAsync(owner, new ImportCharacterCardRequest { Json = CardFixtures.V2, Visibility = Visibility.Public });
        var unlisted = await ImportAsync(owner, new ImportCharacterCardRequest { Json = CardFixtures.V3, Visibility = Visibility.Unlisted });
        var hidden = await ImportAsync(owner, new ImportCharacterCardRequest { Json = CardFixtures.NameOnly });

        CardJson.AssertSame(CardFixtures.V2, (await ExportAsync(reader, shared.CharacterId)).Json);
        CardJson.AssertSame(CardFixtures.V3, (await ExportAsync(reader, unlisted.CharacterId)).Json);
        await AssertStatusAsync(StatusCode.NotFound, () => ExportAsync(reader, hidden.CharacterId));
        await AssertStatusAsync(StatusCode.NotFound, () => ExportAsync(reader, Guid.NewGuid().ToString()));
    }

    private async Task<Character> ImportAsync(string user, ImportCharacterCardRequest request) =>
        await Fixture.Client(user).ImportCharacterCardAsync(request, cancellationToken: Ct);

    private async Task<ExportCharacterCardResponse> ExportAsync(string user, string characterId, CardSpec spec = CardSpec.Unspecified, bool png = false) =>
        await Fixture.Client(user).ExportCharacterCardAsync(new ExportCharacterCardRequest { CharacterId = characterId, Spec = spec, Png = png }, cancellationToken: Ct);

    /// <summary>A character without what differs between two imports of the same card (id, times).</summary>
    private static Character Comparable(Character character)
    {
        var copy = character.Clone();
        copy.CharacterId = "";
        copy.CreateTime = null;
        copy.UpdateTime = null;
        return copy;
    }

    private static string Decode(string base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64));
}
