using System.Text.Json.Nodes;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

/// <summary>
/// Cards as deep as an import takes: every export of them imports again, in either spec. Depths
/// count the card object as level 1, as the JSON reader's limit does.
/// </summary>
public sealed class CardDepthTests
{
    [Theory]
    [InlineData(CardFormat.V2, CardFormat.V2)]
    [InlineData(CardFormat.V2, CardFormat.V3)]
    [InlineData(CardFormat.V3, CardFormat.V2)]
    [InlineData(CardFormat.V3, CardFormat.V3)]
    public void CardAtTheDepthLimits_ExportsWhatImportsAgain_AndLosesNothingOnTheWayBack(CardFormat spec, CardFormat target)
    {
        var card = DeepCard(spec, fieldDepth: CardLimits.MaxJsonDepth - 2);

        var first = Export(card, target);
        var second = Export(first, spec);
        var third = Export(second, target);
        var fourth = Export(third, spec);

        var original = CardJson.Parse(card);
        foreach (var export in new[] { first, second, third, fourth }.Select(CardJson.Parse))
        {
            Assert.True(JsonNode.DeepEquals(original["deep"], export["deep"]));
            Assert.True(JsonNode.DeepEquals(original["data"]!["extensions"]!["deep"], export["data"]!["extensions"]!["deep"]));
            Assert.True(JsonNode.DeepEquals(original["data"]!["deep_v3"], export["data"]!["deep_v3"] ?? export["data"]!["extensions"]![CardFields.V3InExtensions]!["deep_v3"]));
        }

        // Once through the other spec (a V3 export adds the fields V3 requires), a round trip changes nothing.
        CardJson.AssertSame(second, fourth, keyOrder: spec == target);
    }

    [Fact]
    public void V3FieldAtTheDepthLimit_IsTwoLevelsDeeperInAV2Export_AndStillWithinTheLimit()
    {
        var v2 = CardJson.Parse(Export(DeepCard(CardFormat.V3, fieldDepth: CardLimits.MaxJsonDepth - 2), CardFormat.V2));

        Assert.Equal(CardLimits.MaxJsonDepth, 4 + Depth(v2["data"]!["extensions"]![CardFields.V3InExtensions]!["deep_v3"]));
    }

    [Theory]
    [InlineData(CardFormat.V2)]
    [InlineData(CardFormat.V3)]
    public void DataFieldV2DoesNotDefine_OneLevelPastItsLimit_IsRefusedNamingIt(CardFormat spec)
    {
        var ex = Assert.Throws<ChatException>(() => CardReader.Read(DeepCard(spec, fieldDepth: CardLimits.MaxJsonDepth - 1), "json"));

        Assert.Equal("json", ex.Field);
        Assert.StartsWith($"json: data.deep_v3 nests {CardLimits.MaxJsonDepth - 1} levels deep (the card and data count as two); " +
            $"a data field V2 does not define may nest at most {CardLimits.MaxJsonDepth - 2}", ex.Message);
    }

    [Fact]
    public void TopLevelFieldOnePastTheLimit_IsRefused()
    {
        var card = $$"""{"spec":"chara_card_v2","data":{"name":"N"},"deep":{{Nest(CardLimits.MaxJsonDepth)}}}""";

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(card, "json"));

        Assert.Contains($"maximum configured depth of {CardLimits.MaxJsonDepth}", ex.Message);
    }

    /// <summary>
    /// A card with a top-level field and an extension as deep as any card may nest (64), and a data
    /// field V2 does not define (<c>deep_v3</c>) <paramref name="fieldDepth"/> deep.
    /// </summary>
    internal static string DeepCard(CardFormat spec, int fieldDepth) =>
        $$$"""
        {"spec":"{{{CardFields.Name(spec)}}}","spec_version":"{{{CardFields.Version(spec)}}}","deep":{{{Nest(CardLimits.MaxJsonDepth - 1)}}},
         "data":{"name":"Deep","extensions":{"deep":{{{Nest(CardLimits.MaxJsonDepth - 3)}}}},"deep_v3":{{{Nest(fieldDepth - 2)}}}}}
        """;

    /// <summary>Objects and arrays nested <paramref name="levels"/> deep, with a value at the bottom.</summary>
    private static string Nest(int levels) =>
        string.Concat(Enumerable.Range(0, levels).Select(i => i % 2 == 0 ? "[" : "{\"k\":")) + "1" +
        string.Concat(Enumerable.Range(0, levels).Reverse().Select(i => i % 2 == 0 ? "]" : "}"));

    private static int Depth(JsonNode? node) => node switch
    {
        JsonObject obj => 1 + obj.Select(p => Depth(p.Value)).DefaultIfEmpty(0).Max(),
        JsonArray array => 1 + array.Select(Depth).DefaultIfEmpty(0).Max(),
        _ => 0,
    };

    /// <summary>The card imported, then exported in <paramref name="target"/> spec.</summary>
    private static string Export(string json, CardFormat target)
    {
        var card = CardReader.Read(json, "json");
        return CardWriter.Write(card.ToCharacter(Ids.New(), "owner", "default", CharacterVisibility.Private), card.Kept, target);
    }
}
