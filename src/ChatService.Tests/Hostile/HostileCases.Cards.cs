using System.Text;
using System.Text.Json.Nodes;
using ChatService.Api.V1;
using ChatService.Cards;
using ChatService.Tests.Cards;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Character Cards: imports that must be refused (malformed or mistyped JSON, fields out of bounds,
/// hostile PNGs, oversized and compressed requests), each with the marker as the card's name where
/// it has one; and exports, which only read.
/// </summary>
internal sealed partial class HostileCases
{
    /// <summary>zlib data that inflates to 64 MiB of zeros (about 64 KiB), shared by every case.</summary>
    private static readonly Lazy<byte[]> ZeroBomb = new(() => TestPng.ZeroBomb(64L << 20));

    private static readonly string[] MappedTexts =
        ["name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes", "system_prompt", "post_history_instructions", "creator", "character_version"];

    private HostileCase BadCardImport()
    {
        var party = Caller();
        var (generator, request) = _random.Next(6) switch
        {
            0 => ("card-wrong-type", new ImportCharacterCardRequest { Json = MistypedCard() }),
            1 => ("card-out-of-bounds", new ImportCharacterCardRequest { Json = CardOutOfBounds() }),
            2 => ("card-malformed-json", new ImportCharacterCardRequest { Json = MalformedCard() }),
            3 => ("card-hostile-png", new ImportCharacterCardRequest { Png = ByteString.CopyFrom(HostilePng()) }),
            4 => ("card-bad-placement", new ImportCharacterCardRequest
            {
                Json = MarkedCard(CardFixtures.V3).ToJsonString(),
                Visibility = _random.Next(2) == 0 ? (Visibility)Pick(4, 99, -1, int.MaxValue) : Visibility.Public,
                ModelRoute = Pick("UPPER", "no-such-route", new string('r', 65), "default\0", ""),
            }),
            _ => ("card-missing", new ImportCharacterCardRequest { Visibility = Visibility.Public }),
        };
        if (generator == "card-bad-placement" && request.Visibility == Visibility.Public && request.ModelRoute.Length == 0)
        {
            request.ModelRoute = "no-such-route";
        }

        return _random.Next(12) == 0 ? OversizedCardImport(party) : Case(request, generator, Invalid, party.UserId);
    }

    /// <summary>PNGs past the size limit, built when they run: just past 8 MiB (INVALID_ARGUMENT), past the request limit, or a compressed request that inflates past it.</summary>
    private HostileCase OversizedCardImport(Party party)
    {
        var kind = _random.Next(3);
        var extra = _random.Next(1, 16 * 1024 - 64);
        var headers = As(party.UserId);
        return kind switch
        {
            0 => Case("ImportCharacterCard", "card-png-over-8-mib", Invalid, (cancellationToken, deadline) =>
                Unary(headers, (c, o) => c.ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = ByteString.CopyFrom(new byte[CardLimits.MaxPngBytes + extra]) }, o), null)(cancellationToken, deadline)),
            1 => Case("ImportCharacterCard", "card-request-over-limit", [StatusCode.ResourceExhausted], (cancellationToken, deadline) =>
                Unary(headers, (c, o) => c.ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = ByteString.CopyFrom(new byte[CardLimits.MaxPngBytes + 16 * 1024 + extra]) }, o), null)(cancellationToken, deadline)),
            _ => Case("ImportCharacterCard", "card-gzip-bomb", [StatusCode.ResourceExhausted], (cancellationToken, _) =>
                RawGrpc.PostAsync(_fixture.Factory.Server, "ImportCharacterCard", RawGrpc.Frame(Gzip(new byte[16 * 1024 * 1024]), flag: 1),
                    [("x-user-id", party.UserId), ("grpc-encoding", "gzip")], cancellationToken)),
        };
    }

    /// <summary>Exports of one's own characters and of others' public and unlisted ones (OK), of others' private ones and unknown ids (NOT_FOUND), with bad ids or specs.</summary>
    private HostileCase CardExport()
    {
        var party = Caller();
        var other = _world.Other(party);
        var own = Pick(party.Private, party.Quiet, party.Public, party.Card);
        var (id, generator, allowed) = _random.Next(6) switch
        {
            0 => (own.CharacterId, "export-own", Ok),
            1 => (Pick(other.Public, other.Card).CharacterId, "export-shared", Ok),
            2 => (Pick(other.Private, other.Quiet).CharacterId, "export-foreign-private", NotFound),
            3 => (Guid.NewGuid().ToString(), "export-unknown", NotFound),
            4 => (Garbage.BadId(_random), "export-bad-id", Invalid),
            _ => (own.CharacterId, "export-bad-spec", Invalid),
        };
        var spec = generator == "export-bad-spec" ? (CardSpec)Pick(1, 4, 99, -1, int.MaxValue) : Pick(CardSpec.Unspecified, CardSpec.V2, CardSpec.V3);
        var request = new ExportCharacterCardRequest { CharacterId = id, Spec = spec, Png = _random.Next(2) == 0 };
        var name = new[] { party.Private, party.Quiet, party.Public, party.Card, other.Public, other.Card }.FirstOrDefault(c => c.CharacterId == id)?.DisplayName;
        return Case(request, generator, allowed, party.UserId, check: r => ExportProblem((ExportCharacterCardResponse)r, request, name));
    }

    /// <summary>What is wrong with an export: not exactly the asked form, or a card that does not read back as the character.</summary>
    private static string? ExportProblem(ExportCharacterCardResponse export, ExportCharacterCardRequest request, string? name)
    {
        if (request.Png == export.Png.IsEmpty || request.Png != (export.Json.Length == 0) || export.FileName.Length == 0)
        {
            return $"an export asked for {(request.Png ? "a PNG" : "JSON")} answered json={export.Json.Length} chars, png={export.Png.Length} bytes, file '{export.FileName}'";
        }

        CharacterCard card;
        try
        {
            card = request.Png ? CardReader.Read(PngCardReader.ReadCardJson(export.Png.ToByteArray()), "png") : CardReader.Read(export.Json, "json");
        }
        catch (ChatService.Chats.ChatException ex)
        {
            return $"the export of {request.CharacterId} does not read back: {ex.Message}";
        }

        var expected = request.Spec == CardSpec.V2 ? CardFormat.V2 : request.Spec == CardSpec.V3 ? CardFormat.V3 : card.Spec;
        return card.Name != name || card.Spec != expected ? $"the export of {request.CharacterId} reads back as {card.Spec} '{card.Name}'" : null;
    }

    /// <summary>A realistic card whose name is the marker.</summary>
    private JsonObject MarkedCard(string fixture)
    {
        var card = CardJson.Parse(fixture);
        card["data"]!["name"] = Marker();
        return card;
    }

    private string MistypedCard()
    {
        var card = MarkedCard(Pick(CardFixtures.V2, CardFixtures.V3));
        var data = card["data"]!.AsObject();
        JsonNode Wrong() => Pick<Func<JsonNode>>(() => 42, () => true, () => new JsonArray("a"), () => new JsonObject { ["a"] = 1 }, () => 1.5e300)();
        switch (_random.Next(6))
        {
            case 0: data[Pick(MappedTexts.Where(f => f != "name").ToArray())] = Wrong(); break;
            case 1: data[Pick("alternate_greetings", "tags")] = new JsonArray("fine", Wrong()); break;
            case 2: data[Pick("alternate_greetings", "tags")] = Pick<JsonNode>("a,b", 3, new JsonObject()); break;
            case 3: data["extensions"] = Pick<JsonNode>(new JsonArray(), "x", 0); break;
            case 4: data["character_book"] = Pick<JsonNode>(new JsonArray(), new JsonObject { ["entries"] = new JsonArray(1, 2) }); break;
            default:
                card["spec"] = "chara_card_v3";
                data[Pick("group_only_greetings", "source", "assets", "creator_notes_multilingual", "nickname", "creation_date")] = Pick<JsonNode>(new JsonArray(7), "x", new JsonObject { ["en"] = 1 }, false);
                if (data["nickname"] is JsonValue nick && nick.TryGetValue<string>(out _))
                {
                    data["nickname"] = 5;
                }

                if (data["creation_date"] is JsonValue date && date.TryGetValue<double>(out _))
                {
                    data["creation_date"] = "today";
                }

                break;
        }

        return card.ToJsonString();
    }

    private string CardOutOfBounds()
    {
        var card = MarkedCard(CardFixtures.V2);
        var data = card["data"]!.AsObject();
        switch (_random.Next(9))
        {
            case 0: data["name"] = Garbage.Blank(_random); break;
            case 1: data["name"] = Marker() + new string('n', 101); break;
            case 2: data[Pick("description", "personality", "scenario", "mes_example", "system_prompt")] = Marker() + new string('d', 32_001); break;
            case 3: data["first_mes"] = Garbage.Oversized(_random, MaxMessageBytes, Marker()); break;
            case 4: data["alternate_greetings"] = new JsonArray("hi", Pick(Garbage.Blank(_random), Garbage.Oversized(_random, MaxMessageBytes, Marker()))); break;
            case 5: data["tags"] = new JsonArray(Pick("Sci/Fi", "", new string('t', 33), "tag\u0007", "a.b")); break;
            case 6: data["tags"] = new JsonArray(Enumerable.Range(0, _random.Next(33, 200)).Select(i => (JsonNode)$"tag{i}").ToArray()); break;
            case 7: data[Pick("creator", "character_version")] = new string('c', 257); break;
            default: data["creator_notes"] = Marker() + new string('c', 32_001); break;
        }

        return card.ToJsonString();
    }

    private string MalformedCard()
    {
        var marked = MarkedCard(CardFixtures.V2).ToJsonString();
        return _random.Next(8) switch
        {
            0 => marked[..(_random.Next(1, marked.Length - 1))],
            1 => marked.Insert(1, "\"spec\":\"chara_card_v2\","),
            2 => marked.Replace("\"extensions\":{", "\"extensions\":{\"x\":" + new string('[', _random.Next(65, 5000)), StringComparison.Ordinal),
            3 => marked.Replace("\"creator\":\"skywright\"", "\"creator\":\"sky\\ud800wright\"", StringComparison.Ordinal),
            4 => """{"name":"hostile-reject-v1","description":"a V1 card, without spec"}""",
            5 => marked.Replace("chara_card_v2", Pick("chara_card_v1", "CHARA_CARD_V2", ""), StringComparison.Ordinal),
            6 => Pick("[]", "null", "\"card\"", "42", "{}", """{"spec":"chara_card_v3"}""", """{"spec":"chara_card_v3","data":[]}"""),
            _ => Garbage.OddText(_random),
        };
    }

    private byte[] HostilePng()
    {
        var card = MarkedCard(CardFixtures.V3).ToJsonString();
        var good = TestPng.With(TestPng.Card(card, "ccv3"));
        var blankName = """{"spec":"chara_card_v2","data":{"name":" "}}""";
        return _random.Next(14) switch
        {
            0 => good[..(_random.Next(8, good.Length - 1))],
            1 => TestPng.With(TestPng.Chunk("tEXt", [.. "a"u8, 0, 1], crc: (uint)_random.Next()), TestPng.Card(card, "ccv3")),
            2 => TestPng.Raw(TestPng.Card(card), TestPng.Pixels(), TestPng.End()),
            3 => TestPng.Raw(TestPng.Header(width: Pick(0u, 1u << 31, uint.MaxValue)), TestPng.Card(card), TestPng.Pixels(), TestPng.End()),
            4 => TestPng.With(TestPng.Text("Software", card)),
            5 => TestPng.With([.. Enumerable.Repeat(TestPng.Chunk("tIny", []), _random.Next(4096, 10_001)), TestPng.Card(card)]),
            6 => TestPng.With(TestPng.Chunk("zTXt", [.. "ccv3"u8, 0, 0, .. ZeroBomb.Value]), TestPng.Card(card)),
            7 => TestPng.With(TestPng.Chunk("ABCD", [1]), TestPng.Card(card)),
            8 => TestPng.Raw(TestPng.Header(), TestPng.Card(card), TestPng.End()),
            9 => Garbage.Bytes(_random, 1, 4096),
            10 => TestPng.Raw(TestPng.Header(width: int.MaxValue, height: int.MaxValue), TestPng.Card(blankName), TestPng.Pixels(), TestPng.End()),
            11 => TestPng.With(TestPng.Text(Pick("chara", "ccv3"), Pick("!!!", card, "e30"))),
            12 => TestPng.With(Pick(
                TestPng.Chunk("zTXt", [.. "chara"u8, 0, 0, .. TestPng.PresetDictionaryZlib]),
                TestPng.Chunk("iTXt", [.. "ccv3"u8, 0, 1, 0, .. "en"u8, 0, 0, .. TestPng.PresetDictionaryZlib]))),
            _ => TestPng.With(TestPng.Chunk("tEXt", [.. "ccv3"u8, 0, .. Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(card)))], length: (uint)_random.Next(1 << 20, int.MaxValue))),
        };
    }
}
