using System.Text.Json.Nodes;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

/// <summary>
/// A character's talkativeness and SillyTavern's <c>data.extensions.talkativeness</c>: read on import
/// (a number, or a number as a string), written back on export where the card had it and in its form,
/// so the extensions of an unchanged card come back as they were.
/// </summary>
public sealed class CardTalkativenessTests
{
    private static string Card(string extensions) =>
        ("{'spec':'chara_card_v2','spec_version':'2.0','data':{'name':'Mara','description':'d','personality':'','scenario':'','first_mes':'','mes_example':''," +
        "'creator_notes':'','system_prompt':'','post_history_instructions':'','alternate_greetings':[],'tags':[],'creator':'','character_version':'','extensions':")
        .Replace('\'', '"') + extensions + "}}";

    private static (Character Character, string Outline) Import(string json)
    {
        var card = CardReader.Read(json, "json");
        return (card.ToCharacter(Ids.New(), "owner", "default", CharacterVisibility.Private), card.Kept);
    }

    private static JsonObject Extensions(string card) => CardJson.Parse(card)["data"]!["extensions"]!.AsObject();

    [Theory]
    [InlineData("""{"talkativeness":"0.8","fav":false}""", 0.8)]
    [InlineData("""{"fav":true,"talkativeness":0.25}""", 0.25)]
    [InlineData("""{"talkativeness":1}""", 1.0)]
    [InlineData("""{"talkativeness":""}""", 0.5)]
    [InlineData("""{"talkativeness":null}""", 0.5)]
    [InlineData("""{"fav":true}""", 0.5)]
    [InlineData("""{}""", 0.5)]
    public void Import_ReadsIt_AndAnUnchangedExportGivesTheExtensionsBackAsTheyWere(string extensions, double expected)
    {
        var json = Card(extensions);
        var (character, outline) = Import(json);

        Assert.Equal(expected, character.Talkativeness);
        CardJson.AssertSame(json, CardWriter.Write(character, outline, CardFormat.V2));
    }

    [Fact]
    public void AChangedTalkativeness_IsWrittenWhereTheCardHadIt_InItsForm()
    {
        var (asText, textOutline) = Import(Card("""{"talkativeness":"0.8","fav":false}"""));
        var (asNumber, numberOutline) = Import(Card("""{"fav":true,"talkativeness":0.25}"""));

        var text = Extensions(CardWriter.Write(asText with { Talkativeness = 0.3 }, textOutline, CardFormat.V2));
        var number = Extensions(CardWriter.Write(asNumber with { Talkativeness = 1 }, numberOutline, CardFormat.V3));

        Assert.Equal("0.3", text["talkativeness"]!.GetValue<string>());
        Assert.Equal(["talkativeness", "fav"], text.Select(p => p.Key));
        Assert.Equal(1.0, number["talkativeness"]!.GetValue<double>());
        Assert.Equal(["fav", "talkativeness"], number.Select(p => p.Key));
    }

    [Fact]
    public void ACardWithoutOne_GetsOneOnlyWhenTheCharactersIsNotTheDefault_AndItImportsAgain()
    {
        var (character, outline) = Import(Card("""{"fav":true}"""));
        var made = new Character(Ids.New(), "owner", "Made Here", "A persona.", null, "default", CharacterVisibility.Private, DateTimeOffset.UnixEpoch)
        {
            Talkativeness = 0.7,
        };

        var unchanged = Extensions(CardWriter.Write(character, outline, CardFormat.V2));
        var changed = CardWriter.Write(character with { Talkativeness = 0.9 }, outline, CardFormat.V2);
        var madeHere = CardWriter.Write(made, null, CardFormat.V3);

        Assert.False(unchanged.ContainsKey("talkativeness"));
        Assert.Equal(["fav", "talkativeness"], Extensions(changed).Select(p => p.Key));
        Assert.Equal(0.9, Import(changed).Character.Talkativeness);
        Assert.Equal(0.7, Extensions(madeHere)["talkativeness"]!.GetValue<double>());
        Assert.Equal(0.7, Import(madeHere).Character.Talkativeness);
        Assert.False(Extensions(CardWriter.Write(made with { Talkativeness = 0.5 }, null, CardFormat.V3)).ContainsKey("talkativeness"));
    }

    [Theory]
    [InlineData("""{"talkativeness":"loud"}""")]
    [InlineData("""{"talkativeness":1.5}""")]
    [InlineData("""{"talkativeness":"-0.1"}""")]
    [InlineData("""{"talkativeness":true}""")]
    [InlineData("""{"talkativeness":{"value":0.5}}""")]
    [InlineData("""{"talkativeness":1e999}""")]
    [InlineData("""{"talkativeness":"NaN"}""")]
    public void Import_RefusesATalkativenessThatIsNoNumberFrom0To1_NamingItsPath(string extensions)
    {
        var ex = Assert.Throws<ChatException>(() => CardReader.Read(Card(extensions), "json"));

        Assert.Equal((ChatErrorKind.InvalidArgument, "json"), (ex.Kind, ex.Field));
        Assert.Contains("data.extensions.talkativeness", ex.Message);
    }
}
