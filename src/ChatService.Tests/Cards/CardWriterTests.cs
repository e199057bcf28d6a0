using System.Text;
using System.Text.Json.Nodes;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

public sealed class CardWriterTests
{
    /// <summary>A character from a card, and the outline stored beside it.</summary>
    private static (Character Character, string Outline) Import(string json)
    {
        var card = CardReader.Read(json, "json");
        return (card.ToCharacter(Ids.New(), "owner", "default", CharacterVisibility.Private) with { CreateTime = DateTimeOffset.UnixEpoch.AddDays(20_000) }, card.Kept);
    }

    private static string Write((Character Character, string Outline) imported, CardFormat format, bool v2Copy = false) =>
        CardWriter.Write(imported.Character, imported.Outline, format, v2Copy: v2Copy);

    [Theory]
    [InlineData(CardFixtures.V2)]
    [InlineData(CardFixtures.V3)]
    public void Export_AsImported_IsTheCardThatWasImported_KeysInOrder_NumbersAsWritten(string card)
    {
        var imported = Import(card);

        var exported = Write(imported, (CardFormat)imported.Character.CardSpec!);

        CardJson.AssertSame(card, exported);
        foreach (var number in card == CardFixtures.V2 ? ["2.50", "2E3", "1.50"] : (string[])["1.05", "-2"])
        {
            Assert.Contains(number, exported);
        }
    }

    [Theory]
    [InlineData(CardFixtures.V2, CardFormat.V2)]
    [InlineData(CardFixtures.V2, CardFormat.V3)]
    [InlineData(CardFixtures.V3, CardFormat.V2)]
    [InlineData(CardFixtures.V3, CardFormat.V3)]
    public void ReimportOfAnExport_ExportsTheSameCard(string card, CardFormat format)
    {
        var first = Write(Import(card), format);

        var second = Write(Import(first), format);

        Assert.Equal(first, second);
    }

    [Fact]
    public void V2ExportOfAV3Card_KeepsTheV3FieldsInAnExtension_AndAV3ExportTakesThemBack()
    {
        var v2 = CardJson.Parse(Write(Import(CardFixtures.V3), CardFormat.V2));

        Assert.Equal("chara_card_v2", v2["spec"]!.GetValue<string>());
        Assert.Equal("2.0", v2["spec_version"]!.GetValue<string>());
        var data = v2["data"]!.AsObject();
        Assert.All(new[] { "assets", "nickname", "creator_notes_multilingual", "source", "group_only_greetings", "creation_date", "modification_date" },
            field => Assert.False(data.ContainsKey(field), field));
        var kept = data["extensions"]!["chatservice/ccv3"]!.AsObject();
        Assert.Equal("Ilse", kept["nickname"]!.GetValue<string>());
        Assert.Equal(3, kept["assets"]!.AsArray().Count);
        Assert.Equal(1.05, data["extensions"]!["quill/voice"]!["rate"]!.GetValue<double>());

        var back = Write(Import(v2.ToJsonString()), CardFormat.V3);

        CardJson.AssertSame(CardFixtures.V3, back, keyOrder: false);
    }

    [Fact]
    public void V3ExportOfAV2Card_AddsWhatV3Requires_AndKeepsEverythingElse()
    {
        var v3 = CardJson.Parse(Write(Import(CardFixtures.V2), CardFormat.V3));

        Assert.Equal("chara_card_v3", v3["spec"]!.GetValue<string>());
        Assert.Equal("3.0", v3["spec_version"]!.GetValue<string>());
        Assert.Empty(v3["data"]!["group_only_greetings"]!.AsArray());
        var original = CardJson.Parse(CardFixtures.V2);
        Assert.True(JsonNode.DeepEquals(original["data"]!["character_book"], v3["data"]!["character_book"]));
        Assert.True(JsonNode.DeepEquals(original["data"]!["extensions"], v3["data"]!["extensions"]));
        Assert.Equal("none", v3["avatar"]!.GetValue<string>());
    }

    [Fact]
    public void Export_ShowsTheCurrentDefinition_AndAV3CardItsModificationDate()
    {
        var updatedAt = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var (imported, outline) = Import(CardFixtures.V3);
        var character = imported with
        {
            DisplayName = "Ilse Marten",
            Scenario = "A new scenario.",
            Tags = ["Mentor"],
            Version = 2,
            UpdateTime = updatedAt,
        };

        var data = CardJson.Parse(CardWriter.Write(character, outline, CardFormat.V3))["data"]!;

        Assert.Equal("Ilse Marten", data["name"]!.GetValue<string>());
        Assert.Equal("A new scenario.", data["scenario"]!.GetValue<string>());
        Assert.Equal(new[] { "Mentor" }, data["tags"]!.AsArray().Select(t => t!.GetValue<string>()));
        Assert.Equal(1_800_000_000, data["modification_date"]!.GetValue<long>());
        Assert.Equal(1714000000, data["creation_date"]!.GetValue<long>());
    }

    [Fact]
    public void CardWithOnlyAName_ExportsEveryFieldTheSpecRequires_NameFirst()
    {
        var data = CardJson.Parse(Write(Import(CardFixtures.NameOnly), CardFormat.V2))["data"]!.AsObject();

        Assert.Equal(new[] { "name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes", "system_prompt",
            "post_history_instructions", "alternate_greetings", "tags", "creator", "character_version", "extensions" }, data.Select(p => p.Key));
        Assert.Empty(data["extensions"]!.AsObject());
    }

    [Fact]
    public void CharacterMadeHere_ExportsAsV3_WithItsPersonaAsTheDescription_AndItsDates()
    {
        var created = DateTimeOffset.FromUnixTimeSeconds(1_750_000_000);
        var character = new Character(Ids.New(), "owner", "Ada", "A patient mathematician.", "Hello!", "default", CharacterVisibility.Private, created)
        {
            Description = "Born in London.",
            Tags = ["Math"],
        };

        var card = CardJson.Parse(CardWriter.Write(character, null, CardFormat.V3));

        Assert.Equal("chara_card_v3", card["spec"]!.GetValue<string>());
        var data = card["data"]!;
        Assert.Equal("A patient mathematician.\n\nBorn in London.", data["description"]!.GetValue<string>());
        Assert.Equal("Hello!", data["first_mes"]!.GetValue<string>());
        Assert.Empty(data["group_only_greetings"]!.AsArray());
        Assert.Equal(1_750_000_000, data["creation_date"]!.GetValue<long>());
        Assert.Equal(1_750_000_000, data["modification_date"]!.GetValue<long>());
    }

    [Theory]
    [InlineData(CardFormat.V2)]
    [InlineData(CardFormat.V3)]
    public void Export_OfDeeplyNestedKeptJson_IsAboutTheSizeStored_AsJsonAndAsAPng(CardFormat format)
    {
        // Arrays nested 56 deep, as many as the kept limit takes: indented, every bracket would get
        // a line of its own and up to 120 spaces, some 60 times what is stored.
        var nest = new string('[', 56) + new string(']', 56);
        var items = string.Join(",", Enumerable.Repeat(nest, (CardLimits.MaxKeptBytes - 1024) / (nest.Length + 1)));
        var imported = Import("{\"spec\":\"chara_card_v3\",\"data\":{\"name\":\"N\",\"extensions\":{\"x\":[" + items + "]},\"nested\":[" + nest + "]}}");
        var stored = Encoding.UTF8.GetByteCount(imported.Outline);

        var json = Encoding.UTF8.GetByteCount(Write(imported, format));
        var png = PngWriter.WithCards(null, [("ccv3", Write(imported, CardFormat.V3)), ("chara", Write(imported, CardFormat.V2, v2Copy: true))]).Length;

        Assert.True(stored > CardLimits.MaxKeptBytes - 2048, $"the outline is {stored} bytes");
        Assert.True(json < stored + 1024, $"the {format} export is {json} bytes of JSON; {stored} are stored");
        Assert.True(png < 3 * stored, $"the V3 PNG is {png} bytes; {stored} are stored");
    }

    [Fact]
    public void V2CopyInAV3Png_SaysSoInItsCreatorNotes()
    {
        var copy = CardJson.Parse(Write(Import(CardFixtures.V3), CardFormat.V2, v2Copy: true));

        Assert.StartsWith(CardWriter.V2CopyNotice + "\n\nEnglish notes", copy["data"]!["creator_notes"]!.GetValue<string>());
    }
}
