using System.Text;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

public sealed class CardReaderTests
{
    [Fact]
    public void V2Card_MapsItsFieldsToTheCharacter_AndKeepsTheRest()
    {
        var card = CardReader.Read(CardFixtures.V2, "json");

        Assert.Equal(CardFormat.V2, card.Spec);
        Assert.Equal("Captain Mara Voss", card.Name);
        Assert.StartsWith("{{char}} is the weathered captain", card.Description);
        Assert.Equal("gruff, loyal, dry humour, hates debt", card.Personality);
        Assert.StartsWith("{{user}} has just signed on", card.Scenario);
        Assert.StartsWith("*Mara looks up", card.FirstMes);
        Assert.StartsWith("<START>\n{{user}}: Where", card.MesExample);
        Assert.StartsWith("Works best", card.CreatorNotes);
        Assert.StartsWith("Write {{char}}'s next reply", card.SystemPrompt);
        Assert.StartsWith("Stay in character", card.PostHistoryInstructions);
        Assert.Equal(2, card.AlternateGreetings.Count);
        Assert.Equal(new[] { "Fantasy", "Steampunk", "Female", "Adventure" }, card.Tags);
        Assert.Equal("skywright", card.Creator);
        Assert.Equal("1.2", card.CharacterVersion);

        var kept = CardJson.Parse(card.Kept);
        Assert.Equal(new[] { "spec", "spec_version", "data", "avatar", "create_date" }, kept["card"]!.AsObject().Select(p => p.Key));
        var data = kept["data"]!.AsObject();
        Assert.Null(data["name"]);
        Assert.Null(data["description"]);
        Assert.Equal("Kestrel lore", data["character_book"]!["name"]!.GetValue<string>());
        Assert.Equal("2.50", data["x_reading_order"]!["kept"]![1]!.ToJsonString());
        Assert.Equal("2E3", data["extensions"]!["skywright/palette"]!["scale"]!.ToJsonString());
    }

    [Fact]
    public void V3Card_IsReadAsV3_WithItsOwnFieldsKept()
    {
        var card = CardReader.Read(CardFixtures.V3, "json");

        Assert.Equal(CardFormat.V3, card.Spec);
        Assert.Equal("Professor Ilse Marten", card.Name);
        Assert.Equal("", card.SystemPrompt);
        var data = CardJson.Parse(card.Kept)["data"]!.AsObject();
        foreach (var field in (string[])["assets", "nickname", "creator_notes_multilingual", "source", "group_only_greetings", "creation_date", "modification_date"])
        {
            Assert.True(data.ContainsKey(field), field);
        }
    }

    [Fact]
    public void Card_WithOnlyAName_IsRead()
    {
        var card = CardReader.Read(CardFixtures.NameOnly, "json");

        Assert.Equal("Nobody", card.Name);
        Assert.Equal("", card.Description);
        Assert.Empty(card.Tags);
    }

    [Fact]
    public void NullTextFields_ReadAsEmpty()
    {
        var card = CardReader.Read("""{"spec":"chara_card_v2","data":{"name":"N","description":null,"tags":null}}""", "json");

        Assert.Equal("", card.Description);
        Assert.Empty(card.Tags);
    }

    public static TheoryData<string, string> BadCards => new()
    {
        { """{"spec":"chara_card_v2","data":{"name":"N","alternate_greetings":["a","b",3]}}""", "json: data.alternate_greetings[2] must be a string, not a number" },
        { """{"spec":"chara_card_v2","data":{"name":7}}""", "json: data.name must be a string, not a number" },
        { """{"spec":"chara_card_v2","data":{"name":"N","tags":"a,b"}}""", "json: data.tags must be an array, not a string" },
        { """{"spec":"chara_card_v2","data":{"name":"N","extensions":[]}}""", "json: data.extensions must be an object, not an array" },
        { """{"spec":"chara_card_v2","data":{"name":"N","character_book":{"entries":[{},"x"]}}}""", "json: data.character_book.entries[1] must be an object, not a string" },
        { """{"spec":"chara_card_v3","data":{"name":"N","group_only_greetings":[null]}}""", "json: data.group_only_greetings[0] must be a string, not null" },
        { """{"spec":"chara_card_v3","data":{"name":"N","assets":[{"type":"icon","uri":5}]}}""", "json: data.assets[0].uri must be a string, not a number" },
        { """{"spec":"chara_card_v3","data":{"name":"N","creation_date":"yesterday"}}""", "json: data.creation_date must be a number (Unix seconds), not a string" },
        { """{"spec":"chara_card_v3","data":{"name":"N","creator_notes_multilingual":{"de":1}}}""", "json: data.creator_notes_multilingual.de must be a string, not a number" },
        { """{"name":"V1 card","description":"flat"}""", "json: spec is missing" },
        { """{"spec":"chara_card_v9","data":{}}""", "json: spec must be \"chara_card_v2\" or \"chara_card_v3\", not \"chara_card_v9\"" },
        { """{"spec":2,"data":{}}""", "json: spec must be a string, not a number" },
        { """{"spec":"chara_card_v2","spec_version":2.0,"data":{}}""", "json: spec_version must be a string, not a number" },
        { """{"spec":"chara_card_v2"}""", "json: data is missing" },
        { """{"spec":"chara_card_v2","data":[]}""", "json: data must be an object, not an array" },
        { """[1,2]""", "json: the card must be a JSON object" },
        { """{"spec":"chara_card_v2","data":{"name":"N"}""", "json: the card is not valid JSON" },
        { """{"spec":"chara_card_v2","spec":"chara_card_v2","data":{}}""", "json: the card is not valid JSON: Duplicate property 'spec'" },
        { """{"spec":"chara_card_v2","data":{"name":"N","extensions":{"a":["\ud800"]}}}""", "json: data.extensions.a[0] is not valid Unicode text" },
        { """{"spec":"chara_card_v2","data":{"name":"N","extensions":{"odd key":"\udc00x"}}}""", "json: data.extensions[\"odd key\"] is not valid Unicode text" },
        { """{"spec":"chara_card_v2","data":{"\udc00":1}}""", "json: the card is not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadCards))]
    public void BadCard_IsInvalidArgument_NamingTheJsonPath(string json, string message)
    {
        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.Equal(ChatErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("json", ex.Field);
        Assert.StartsWith(message, ex.Message);
    }

    [Fact]
    public void InvalidUtf8_InAString_IsRefusedNamingItsPath()
    {
        byte[] json = [.. "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"creator\":\""u8, 0xC3, 0x28, .. "\"}}"u8];

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "png"));

        Assert.Equal("png: data.creator is not valid Unicode text", ex.Message);
    }

    [Fact]
    public void NestingBomb_IsRefusedAtTheDepthLimit()
    {
        var json = """{"spec":"chara_card_v2","data":{"name":"N","extensions":{"x":""" + new string('[', 100_000) + new string(']', 100_000) + "}}}";

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.Contains("maximum configured depth of 64", ex.Message);
    }

    [Fact]
    public void OversizedJson_IsRefusedBeforeParsing()
    {
        var json = "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"creator_notes\":\"" + new string('n', CardLimits.MaxJsonBytes) + "\"}}";

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.StartsWith($"json: the card is {Encoding.UTF8.GetByteCount(json)} bytes of JSON; the limit is {CardLimits.MaxJsonBytes}", ex.Message);
    }

    [Fact]
    public void TooMuchKeptJson_IsRefused()
    {
        var json = "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"extensions\":{\"blob\":\"" + new string('b', CardLimits.MaxKeptBytes) + "\"}}}";

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.Contains("kept as they are", ex.Message);
    }

    [Fact]
    public void KeptJson_IsCountedAsStored_EachCharacterOutsideTheBmpAsTwelveBytesOfEscapes()
    {
        // 100,000 emoji: 400,000 bytes as sent, 1,200,000 as stored (\uD83D\uDE00 each), over the limit.
        const string head = "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"extensions\":{\"e\":\"";
        var json = head + string.Concat(Enumerable.Repeat("\U0001F600", 100_000)) + "\"}}}";
        var stored = """{"card":{"spec":"chara_card_v2","data":null},"data":{"name":null,"extensions":{"e":""}}}""".Length + 100_000 * 12;

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.True(Encoding.UTF8.GetByteCount(json) < CardLimits.MaxKeptBytes);
        Assert.Contains($"are {stored} bytes of JSON as stored (a character outside the Basic Multilingual Plane, such as an emoji, as a 12-byte \\u escape pair)", ex.Message);
    }

    public static TheoryData<string> HostileJson => ["tiny-arrays", "tiny-arrays-outside-v2", "deep-nesting", "long-string", "many-keys"];

    [Theory]
    [MemberData(nameof(HostileJson))]
    public void HostileJson_OfTheLargestSizeTaken_IsRefusedWithinBoundedMemoryAndTime(string kind)
    {
        // In an extension, or (walked once more for its depth) in a data field V2 does not define.
        var head = kind.EndsWith("-outside-v2", StringComparison.Ordinal)
            ? "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"x\":{\"x\":"
            : "{\"spec\":\"chara_card_v2\",\"data\":{\"name\":\"N\",\"extensions\":{\"x\":";
        var room = CardLimits.MaxJsonBytes - head.Length - 8;
        var body = kind switch
        {
            "tiny-arrays" or "tiny-arrays-outside-v2" => "[" + string.Join(",", Enumerable.Repeat("[]", room / 3)) + "]",
            "deep-nesting" => new string('[', room / 2) + new string(']', room / 2),
            "long-string" => "\"" + new string('s', room - 2) + "\"",
            _ => "{" + string.Join(",", Enumerable.Range(0, room / 12).Select(i => $"\"k{i:D6}\":0")) + "}",
        };
        var json = Encoding.UTF8.GetBytes(head + body + "}}}");
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var ex = Assert.Throws<ChatException>(() => CardReader.Read(json, "json"));

        Assert.Equal("json", ex.Field);
        // A bound that only work growing with more than the input's size would break (it takes well under a
        // second here); not a speed target, which a loaded CI machine could miss.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"reading took {clock.Elapsed}");
        var cost = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(cost < 96L * 1024 * 1024, $"reading allocated {cost} bytes");
    }

    [Fact]
    public void ByteOrderMark_IsSkipped()
    {
        byte[] json = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(CardFixtures.NameOnly)];

        var card = CardReader.Read(json, "png");

        Assert.Equal("Nobody", card.Name);
    }
}
