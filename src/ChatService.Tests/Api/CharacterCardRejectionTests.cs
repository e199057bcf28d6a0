using ChatService.Api.V1;
using ChatService.Cards;
using ChatService.Tests.Cards;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;

namespace ChatService.Tests.Api;

/// <summary>Cards the service refuses (INVALID_ARGUMENT naming the field, nothing written), and the request size the card RPCs allow.</summary>
public sealed class CharacterCardRejectionTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    public static TheoryData<string, string, string> BadImports => new()
    {
        { "no-card", "card", "a card is required" },
        { "empty-json", "json", "json must not be empty" },
        { "empty-png", "png", "png must not be empty" },
        { "json-wrong-type", "json", "json: data.alternate_greetings[2] must be a string, not a number" },
        { "json-not-json", "json", "json: the card is not valid JSON" },
        { "v1-card", "json", "json: spec is missing" },
        { "blank-name", "json", "json: data.name must not be empty" },
        { "long-name", "json", "json: data.name must be at most 100 characters, got 101" },
        { "definition-too-long", "json", "json: the definition (data.description, personality, scenario, mes_example, system_prompt and post_history_instructions together) must be at most 32000 characters, got 32001" },
        { "long-first-mes", "json", "json: data.first_mes is 8193 bytes of UTF-8; the limit is 8192" },
        { "blank-alternate-greeting", "json", "json: data.alternate_greetings[1] must be 1..8192 bytes" },
        { "too-many-alternate-greetings", "json", "json: data.alternate_greetings must have at most 64 entries" },
        { "too-many-tags", "json", "json: data.tags must have at most 32 entries, got 33" },
        { "bad-tag", "json", "json: data.tags[0] must be 1..32 characters of letters, digits, spaces, '-' and '_'" },
        { "repeated-tag", "json", "json: data.tags[1] repeats \"Fantasy\"" },
        // The rules CreateCharacter holds tags to, so an imported character passes an update that keeps them.
        { "tag-ending-in-a-space", "json", "json: data.tags[0] must be 1..32 characters of letters, digits, spaces, '-' and '_', not starting or ending with a space" },
        { "tag-repeated-in-another-case", "json", "json: data.tags[1] repeats \"fantasy\" (tags differing only in case are one tag)" },
        { "long-creator", "json", "json: data.creator must be at most 256 characters" },
        { "long-creator-notes", "json", "json: data.creator_notes must be at most 32000 characters" },
        { "bad-visibility", "visibility", "visibility 99 is not a known value" },
        { "bad-route", "model_route", "model_route 'no-such-route' is not a route" },
        { "png-not-png", "png", "png: the bytes are not a PNG" },
        { "png-no-card", "png", "png: the PNG carries no character card" },
        { "png-wrong-crc", "png", "has a wrong CRC" },
        { "png-zip-bomb", "png", "inflates to more than" },
        { "png-preset-dictionary", "png", "png: the compressed chara chunk asks for a preset dictionary" },
        { "png-card-wrong-type", "png", "png: data.name must be a string, not a number" },
        { "png-card-blank-name", "png", "png: data.name must not be empty" },
        { "png-over-8-mib", "png", "png is 8388609 bytes; the limit is 8388608" },
        { "png-export-over-8-mib", "png", "png: the card cannot be kept with its picture: a V3 PNG export (the picture, the card and its V2 copy) would be 83" },
        { "png-export-over-4096-chunks", "png", "png: the card cannot be kept with its picture: a V3 PNG export would have 4097 chunks (the picture's and two card chunks), and an import takes at most 4096; what is exported must import again" },
    };

    [Theory]
    [MemberData(nameof(BadImports))]
    public async Task ImportCharacterCard_BadCard_IsInvalidArgumentNamingTheField_AndWritesNothing(string kind, string field, string message)
    {
        var request = BadImport(kind);
        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(TestUsers.New()).ImportCharacterCardAsync(request, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(field, FieldOf(ex));
        Assert.Contains(message, ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Theory]
    [InlineData("x", CardSpec.Unspecified, "character_id")]
    [InlineData("", CardSpec.V2, "character_id")]
    [InlineData(null, (CardSpec)99, "spec")]
    [InlineData(null, (CardSpec)1, "spec")]
    public async Task ExportCharacterCard_BadRequest_IsInvalidArgumentNamingTheField(string? id, CardSpec spec, string field)
    {
        var user = TestUsers.New();
        id ??= (await CreateCharacterAsync(user)).CharacterId;

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user).ExportCharacterCardAsync(
            new ExportCharacterCardRequest { CharacterId = id, Spec = spec }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(field, FieldOf(ex));
    }

    [Fact]
    public async Task PngOf8MiB_IsImported_AndEachOfItsExportsImportsAgain()
    {
        var user = TestUsers.New();
        var png = PngOfSize(CardLimits.MaxPngBytes);
        using var channel = GrpcChannel.ForAddress(Fixture.Factory.Server.BaseAddress,
            new GrpcChannelOptions { HttpHandler = Fixture.Factory.Server.CreateHandler(), MaxReceiveMessageSize = 32 * 1024 * 1024 });
        var client = new ChatService.Api.V1.ChatService.ChatServiceClient(channel);
        var headers = new Metadata { { "x-user-id", user } };

        var character = await client.ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = ByteString.CopyFrom(png) }, headers, cancellationToken: Ct);

        foreach (var spec in new[] { CardSpec.V2, CardSpec.V3 })
        {
            var exported = (await client.ExportCharacterCardAsync(new ExportCharacterCardRequest { CharacterId = character.CharacterId, Spec = spec, Png = true }, headers, cancellationToken: Ct)).Png;
            var again = await client.ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = exported }, headers, cancellationToken: Ct);

            // Every picture chunk is there as it came, then the card chunks.
            Assert.True(exported.Length <= CardLimits.MaxPngBytes, $"the {spec} PNG is {exported.Length} bytes");
            var pictureChunks = TestPng.ChunksOf(png).Where(c => c.Type != "tEXt" && c.Type != "IEND").Select(c => c.Bytes).ToList();
            Assert.Equal(pictureChunks, TestPng.ChunksOf(exported.ToByteArray()).Take(pictureChunks.Count).Select(c => c.Bytes));
            Assert.Equal(character.DisplayName, again.DisplayName);
        }
    }

    [Fact]
    public async Task CompressedImport_InflatesWithinTheCardLimit_NotTheSmallerOneOfOtherCalls()
    {
        var user = TestUsers.New();
        var png = PngOfSize(2 * 1024 * 1024, compressible: true);

        var character = await Fixture.Client(user).ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = ByteString.CopyFrom(png) },
            new CallOptions(new Metadata { { "grpc-internal-encoding-request", "gzip" } }, cancellationToken: Ct));

        Assert.Equal("Captain Mara Voss", character.DisplayName);
        var before = await Fixture.SnapshotAsync();
        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Big", Persona = new string('p', 2 * 1024 * 1024) },
            new CallOptions(new Metadata { { "grpc-internal-encoding-request", "gzip" } }, cancellationToken: Ct)).ResponseAsync);
        Assert.Contains("message size", ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task RequestBeyondTheCardLimit_IsResourceExhaustedBeforeItIsRead_AndOtherCallsKeepTheirLimit()
    {
        var user = TestUsers.New();
        var before = await Fixture.SnapshotAsync();

        var tooLarge = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Fixture.Client(user).ImportCharacterCardAsync(
            new ImportCharacterCardRequest { Png = ByteString.CopyFrom(new byte[MessageSizeLimitsBytes + 1]) }, cancellationToken: Ct).ResponseAsync);
        var persona = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Big", Persona = new string('p', 1024 * 1024) }, cancellationToken: Ct).ResponseAsync);

        Assert.Contains("message size", tooLarge.Status.Detail);
        Assert.Contains("message size", persona.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task ServerReflection_TakesNoMoreThanARegularCall_WhileACardImportTakes8MiB()
    {
        var user = TestUsers.New();
        var reflection = new ServerReflection.ServerReflectionClient(Fixture.Invoker);
        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);

        // Anonymous, and a stream of many requests: it gets the regular limit, not the card's. The
        // refusal may end the call while the request is still being written; the client then fails the
        // write as CANCELLED before it has read the server's trailers, so the status is taken from the
        // response, which carries them.
        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, async () =>
        {
            try
            {
                await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = new string('s', 1024 * 1024) }, Ct);
            }
            catch (RpcException written) when (written.StatusCode == StatusCode.Cancelled && !Ct.IsCancellationRequested)
            {
            }

            await call.ResponseStream.MoveNext(Ct);
        });
        var character = await Fixture.Client(user).ImportCharacterCardAsync(new ImportCharacterCardRequest { Png = ByteString.CopyFrom(PngOfSize(CardLimits.MaxPngBytes)) }, cancellationToken: Ct);

        Assert.Contains("message size", ex.Status.Detail);
        Assert.Equal("Captain Mara Voss", character.DisplayName);
    }

    private const int MessageSizeLimitsBytes = CardLimits.MaxPngBytes + 16 * 1024;

    /// <summary>
    /// A PNG of exactly <paramref name="size"/> bytes carrying the V2 fixture, padded with an ancillary
    /// chunk of random (or zero) bytes. The card's JSON ends in <paramref name="cardPadding"/> spaces,
    /// which leave room for the card chunks of its exports (compact JSON, a V3 PNG's card and V2 copy).
    /// </summary>
    private static byte[] PngOfSize(int size, bool compressible = false, int cardPadding = 64 * 1024)
    {
        var card = TestPng.Card(CardFixtures.V2 + new string(' ', cardPadding));
        var filler = new byte[size - TestPng.With(card).Length - 12];
        if (!compressible)
        {
            new Random(16).NextBytes(filler);
        }

        return TestPng.With(card, TestPng.Chunk("fiLl", filler));
    }

    private static ImportCharacterCardRequest BadImport(string kind)
    {
        static string Card(string data) => """{"spec":"chara_card_v2","spec_version":"2.0","data":{""" + data + "}}";
        static string Names(int count, string prefix) => string.Join(",", Enumerable.Range(0, count).Select(i => $"\"{prefix}{i}\""));
        return kind switch
        {
            "no-card" => new ImportCharacterCardRequest(),
            "empty-json" => new ImportCharacterCardRequest { Json = "" },
            "empty-png" => new ImportCharacterCardRequest { Png = ByteString.Empty },
            "json-wrong-type" => new() { Json = Card("""  "name":"N","alternate_greetings":["a","b",3]  """) },
            "json-not-json" => new() { Json = "{\"spec\":" },
            "v1-card" => new() { Json = """{"name":"Old","description":"flat"}""" },
            "blank-name" => new() { Json = Card("""  "name":"  ","description":"d"  """) },
            "long-name" => new() { Json = Card($"\"name\":\"{new string('n', 101)}\"") },
            "definition-too-long" => new() { Json = Card($"\"name\":\"N\",\"description\":\"{new string('d', 16_000)}\",\"scenario\":\"{new string('s', 16_001)}\"") },
            "long-first-mes" => new() { Json = Card($"\"name\":\"N\",\"first_mes\":\"{new string('f', 8193)}\"") },
            "blank-alternate-greeting" => new() { Json = Card("""  "name":"N","alternate_greetings":["hi"," "]  """) },
            "too-many-alternate-greetings" => new() { Json = Card($"\"name\":\"N\",\"alternate_greetings\":[{Names(65, "hello ")}]") },
            "too-many-tags" => new() { Json = Card($"\"name\":\"N\",\"tags\":[{Names(33, "tag")}]") },
            "bad-tag" => new() { Json = Card("""  "name":"N","tags":["Sci/Fi"]  """) },
            "repeated-tag" => new() { Json = Card("""  "name":"N","tags":["Fantasy","Fantasy"]  """) },
            "tag-ending-in-a-space" => new() { Json = Card("""  "name":"N","tags":["Fantasy "]  """) },
            "tag-repeated-in-another-case" => new() { Json = Card("""  "name":"N","tags":["Fantasy","fantasy"]  """) },
            "long-creator" => new() { Json = Card($"\"name\":\"N\",\"creator\":\"{new string('c', 257)}\"") },
            "long-creator-notes" => new() { Json = Card($"\"name\":\"N\",\"creator_notes\":\"{new string('c', 32_001)}\"") },
            "bad-visibility" => new() { Json = CardFixtures.NameOnly, Visibility = (Visibility)99 },
            "bad-route" => new() { Json = CardFixtures.NameOnly, ModelRoute = "no-such-route" },
            "png-not-png" => new() { Png = ByteString.CopyFromUtf8(CardFixtures.V2) },
            "png-no-card" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Text("Software", "paint"))) },
            "png-wrong-crc" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Chunk("tEXt", "a\0b"u8.ToArray(), crc: 1), TestPng.Card(CardFixtures.V2))) },
            "png-zip-bomb" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Chunk("zTXt", [.. "chara"u8, 0, 0, .. TestPng.ZeroBomb(64L << 20)]))) },
            "png-preset-dictionary" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Chunk("zTXt", [.. "chara"u8, 0, 0, .. TestPng.PresetDictionaryZlib]))) },
            "png-card-wrong-type" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Card("""{"spec":"chara_card_v3","data":{"name":7}}""", "ccv3"))) },
            "png-card-blank-name" => new() { Png = ByteString.CopyFrom(TestPng.With(TestPng.Card(Card("\"name\":\"\""), "chara"))) },
            // Within the limits as they come, past them once an export adds the card chunks back.
            "png-export-over-8-mib" => new() { Png = ByteString.CopyFrom(PngOfSize(CardLimits.MaxPngBytes, cardPadding: 0)) },
            "png-export-over-4096-chunks" => new() { Png = ByteString.CopyFrom(TestPng.With([.. Enumerable.Repeat(TestPng.Chunk("tIny", []), CardLimits.MaxPngChunks - 4), TestPng.Card(CardFixtures.V2)])) },
            _ => new() { Png = ByteString.CopyFrom(new byte[CardLimits.MaxPngBytes + 1]) },
        };
    }
}
