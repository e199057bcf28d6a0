using System.Text.Json.Nodes;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Portability;

/// <summary>ExportChat and ImportChat against the emulator: a lossless round trip, SillyTavern files, and refused files that write nothing.</summary>
public sealed class ChatExportImportTests(PortabilityFixture fixture) : PortabilityTestBase(fixture), IClassFixture<PortabilityFixture>
{
    [Fact]
    public async Task ExportThenImport_Lossless_GivesIdenticalTurnsCandidatesSelectionsRatingsPinsAndMemory()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ada = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, ada); // 1 greeting
        await SendAsync(user, chat.ChatId, "What is a prime?"); // 2, 3
        await SendAsync(user, chat.ChatId, "And a composite?"); // 4, 5
        await ReadAllAsync(client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "swipe-3" }, cancellationToken: Ct));
        var firstOf5 = (await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = 5 }, cancellationToken: Ct)).Candidates[0];
        await ReadAllAsync(client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = 5, RequestId = "swipe-5" }, cancellationToken: Ct));
        var secondOf5 = (await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = 5 }, cancellationToken: Ct)).Candidates[1];
        await client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = 5, CandidateId = firstOf5.CandidateId }, cancellationToken: Ct);
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "What is a prime number?", RequestId = "edit-2" }, cancellationToken: Ct);
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "A prime has exactly two divisors.", RequestId = "edit-3" }, cancellationToken: Ct);
        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 4, Tags = { "clear", "kind" }, Comment = "Nice." }, cancellationToken: Ct);
        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = 5, CandidateId = secondOf5.CandidateId, Stars = 1 }, cancellationToken: Ct);
        await client.PinTurnAsync(new PinTurnRequest { ChatId = chat.ChatId, Seq = 2 }, cancellationToken: Ct);
        await client.UpdateChatMemoryAsync(new UpdateChatMemoryRequest { ChatId = chat.ChatId, Note = "Likes numbers.", Depth = 2 }, cancellationToken: Ct);

        var export = await ExportAsync(user, chat.ChatId, ChatExportFormat.LosslessJsonl);

        // An import moves a time of the last second to a second before now (the clamp's margin): let them age past it.
        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
        var imported = await ImportAsync(user, "import-roundtrip", ChatExportFormat.LosslessJsonl, export); // the file's own characters

        Assert.Equal(5, imported.TurnCount);
        Assert.Equal(5, imported.CandidateCount);
        Assert.NotEqual(chat.ChatId, imported.Chat.ChatId);
        Assert.Equal(chat.CharacterIds, imported.Chat.CharacterIds);
        Assert.Equal([2L], imported.Chat.PinnedSeqs);
        Assert.Equal(5, imported.Chat.LastSeq);

        var before = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var after = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = imported.Chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(before.Turns.Select(Shown), after.Turns.Select(Shown));
        foreach (var seq in new long[] { 1, 3, 5 })
        {
            var original = await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = seq }, cancellationToken: Ct);
            var copy = await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = imported.Chat.ChatId, Seq = seq }, cancellationToken: Ct);
            Assert.Equal(original.Candidates.Select(Swipe), copy.Candidates.Select(Swipe));
        }

        foreach (var seq in new long[] { 2, 3 })
        {
            var original = await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = seq }, cancellationToken: Ct);
            var copy = await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = imported.Chat.ChatId, Seq = seq }, cancellationToken: Ct);
            Assert.Single(original.Revisions);
            Assert.Equal(original.Revisions.Select(r => r.Text), copy.Revisions.Select(r => r.Text));
        }

        var memory = await client.GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = imported.Chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(("Likes numbers.", 2), (memory.Note, memory.Depth));

        // The copy exports as the original did, but for the chat's and the candidates' own ids and the chat's creation.
        var again = await ExportAsync(user, imported.Chat.ChatId, ChatExportFormat.LosslessJsonl);
        Assert.Equal(Normalized(export), Normalized(again));
    }

    [Fact]
    public async Task Import_OfAHandWrittenSillyTavernFile_WithSwipes_KeepsEverySwipeAndTheSelectedOne()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ada = await CreateCharacterAsync(user, "Ada");
        const string file = """
            {"user_name":"Sam","character_name":"Ada","create_date":"2025-03-01@10h15m00s","chat_metadata":{"note_prompt":"Sam is learning algebra.","note_depth":4}}
            {"name":"Ada","is_user":false,"is_system":false,"send_date":"2025-03-01T10:15:00.000Z","mes":"Hello! Ask me anything.","extra":{}}
            {"name":"Sam","is_user":true,"is_system":false,"send_date":"2025-03-01T10:16:00.000Z","mes":"What is x if 2x = 6?","extra":{}}
            {"name":"Ada","is_user":false,"is_system":false,"send_date":"2025-03-01T10:16:05.000Z","mes":"x is 3.","swipes":["Three.","x is 3.","Divide both sides by 2: x = 3."],"swipe_id":1,"swipe_info":[{"send_date":"2025-03-01T10:16:05.000Z","extra":{}},{"send_date":"2025-03-01T10:16:30.000Z","extra":{}},{"send_date":"2025-03-01T10:17:00.000Z","extra":{}}],"extra":{}}
            {"name":"System","is_user":false,"is_system":true,"send_date":"2025-03-01T10:17:10.000Z","mes":"(a hidden note)","extra":{}}

            {"name":"Sam","is_user":true,"is_system":false,"send_date":"December 6, 2026 5:22pm","mes":"Thanks!","extra":{}}
            """;

        var imported = await ImportAsync(user, "st-import", ChatExportFormat.SillytavernJsonl, file, ada.CharacterId);

        Assert.Equal((4L, 4L, 1L), (imported.TurnCount, imported.CandidateCount, imported.SkippedSystemMessages));
        Assert.Equal("Ada (imported)", imported.Chat.Title);
        var history = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = imported.Chat.ChatId }, cancellationToken: Ct)).Turns.Reverse().ToList();
        Assert.Equal(
            [(1L, AuthorRole.Character, "Hello! Ask me anything."), (2, AuthorRole.User, "What is x if 2x = 6?"), (3, AuthorRole.Character, "x is 3."), (4, AuthorRole.User, "Thanks!")],
            history.Select(t => (t.Seq, t.Role, t.Text)));
        Assert.All(history.Where(t => t.Role == AuthorRole.Character), t => Assert.Equal(ada.CharacterId, t.CharacterId));
        Assert.Equal(2, history[2].ReplyToSeq);
        var swipes = (await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = imported.Chat.ChatId, Seq = 3 }, cancellationToken: Ct)).Candidates;
        Assert.Equal(["Three.", "x is 3.", "Divide both sides by 2: x = 3."], swipes.Select(c => c.Text));
        Assert.Equal([false, true, false], swipes.Select(c => c.Primary));
        Assert.Equal(DateTimeOffset.Parse("2025-03-01T10:16:30Z", System.Globalization.CultureInfo.InvariantCulture), swipes[1].CreateTime.ToDateTimeOffset());
        var memory = await client.GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = imported.Chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(("Sam is learning algebra.", 4), (memory.Note, memory.Depth));

        // And back out as SillyTavern writes it: the metadata line, then the messages with their swipes.
        var lines = Lines(await ExportAsync(user, imported.Chat.ChatId, ChatExportFormat.SillytavernJsonl));
        Assert.Equal(5, lines.Count);
        Assert.Equal("Ada", (string?)lines[0]["character_name"]);
        // The chat's own creation time, in SillyTavern's shape (a shape check alone would take any date).
        var created = imported.Chat.CreateTime.ToDateTime();
        Assert.Equal(created.ToString("yyyy-MM-dd'@'HH'h'mm'm'ss's'", System.Globalization.CultureInfo.InvariantCulture), (string?)lines[0]["create_date"]);
        Assert.Equal("Sam is learning algebra.", (string?)lines[0]["chat_metadata"]!["note_prompt"]);
        Assert.Equal(["Three.", "x is 3.", "Divide both sides by 2: x = 3."], lines[3]["swipes"]!.AsArray().Select(s => (string?)s));
        Assert.Equal(1, (int?)lines[3]["swipe_id"]);
        Assert.Equal("x is 3.", (string?)lines[3]["mes"]);
        Assert.Equal(3, lines[3]["swipe_info"]!.AsArray().Count);
        Assert.True((bool?)lines[2]["is_user"]);
        Assert.Equal("Ada", (string?)lines[3]["name"]);
    }

    [Theory]
    [InlineData(4, "swipe_id", """{"name":"Ada","is_user":false,"mes":"x is 3.","swipes":["x is 3."],"swipe_id":7}""")]
    [InlineData(4, "is_user", """{"name":"Ada","is_user":"no","mes":"x is 3."}""")]
    [InlineData(4, "mes", """{"name":"Ada","is_user":false}""")]
    [InlineData(4, "(the line)", """{"name":"Ada","is_user":false,"mes":"x is 3.""")]
    [InlineData(4, "(the line)", """["Ada"]""")]
    [InlineData(4, "name", """{"name":"Bob","is_user":false,"mes":"Who am I?"}""")]
    [InlineData(4, "mes", """{"name":"Ada","is_user":false,"mes":"half a pair: \ud800"}""")]
    [InlineData(4, "send_date", """{"name":"Ada","is_user":false,"mes":"x","send_date":"2025-03-01\ud800"}""")]
    [InlineData(4, "swipe_info[1].send_date", """{"name":"Ada","is_user":false,"mes":"x","swipes":["x","y"],"swipe_info":[{},{"send_date":"\udc00"}]}""")]
    [InlineData(1, "create_date", """{"name":"Sam","is_user":true,"mes":"fine"}""")]
    [InlineData(1, "character_name", """{"name":"Sam","is_user":true,"mes":"fine"}""")]
    [InlineData(4, "swipes", """{"name":"Ada","is_user":false,"mes":"x","swipes":[SWIPES33]}""")]
    [InlineData(4, "mes", """{"name":"Sam","is_user":true,"mes":"BIG"}""")]
    public async Task Import_OfAMalformedSillyTavernFile_NamesItsBadLine_AndWritesNothing(int line, string field, string badLine)
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var bea = await CreateCharacterAsync(user, "Bea");
        var header = field switch
        {
            "create_date" => """{"user_name":"Sam","character_name":"Ada","create_date":"\ud800@10h15m00s","chat_metadata":{}}""",
            "character_name" => """{"user_name":"Sam","character_name":"Ada\u0007","create_date":"2025-03-01@10h15m00s","chat_metadata":{}}""",
            _ => """{"user_name":"Sam","character_name":"Ada","create_date":"2025-03-01@10h15m00s","chat_metadata":{}}""",
        };
        var file = string.Join('\n',
            header,
            """{"name":"Sam","is_user":true,"is_system":false,"mes":"Hi."}""",
            """{"name":"Ada","is_user":false,"is_system":false,"mes":"Hello."}""",
            Expand(badLine),
            """{"name":"Sam","is_user":true,"is_system":false,"mes":"Bye."}""");
        var before = await RowsAsync();

        var e = await AssertStatusAsync(StatusCode.InvalidArgument,
            () => ImportAsync(user, "st-bad", ChatExportFormat.SillytavernJsonl, file, ada.CharacterId, bea.CharacterId));

        Assert.Equal("data", FieldOf(e));
        Assert.StartsWith($"data: line {line}: {field} ", e.Status.Detail);
        Assert.Equal(before, await RowsAsync());
        Assert.Empty((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
    }

    [Theory]
    [InlineData(1, "version", """{"format":"chatservice.chat","version":2,"chat":{"characters":[]}}""", "")]
    [InlineData(1, "chat.pinned_seqs", """{"format":"chatservice.chat","version":1,"chat":{"characters":[],"pinned_seqs":[9]}}""", "")]
    [InlineData(1, "chat.title", """{"format":"chatservice.chat","version":1,"chat":{"title":"a\u0007b","characters":[]}}""", "")]
    [InlineData(1, "chat.title", """{"format":"chatservice.chat","version":1,"chat":{"title":"invoice\u202Egpj.exe","characters":[]}}""", "")]
    [InlineData(3, "seq", "", """{"seq":2,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"again"}""")]
    [InlineData(3, "primary", "", """{"seq":3,"role":"character","create_time":"2025-01-01T00:00:00Z","primary":2,"candidates":[{"state":"complete","text":"a"}]}""")]
    [InlineData(3, "candidates[0].state", "", """{"seq":3,"role":"character","create_time":"2025-01-01T00:00:00Z","primary":0,"candidates":[{"state":"done","text":"a"}]}""")]
    [InlineData(3, "candidates[0].rating.stars", "", """{"seq":3,"role":"character","create_time":"2025-01-01T00:00:00Z","primary":0,"candidates":[{"state":"complete","text":"a","rating":{"stars":5}}]}""")]
    [InlineData(3, "create_time", "", """{"seq":3,"role":"user","create_time":"yesterday","text":"hm"}""")]
    [InlineData(3, "seq", "", """{"seq":1000000001,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"far"}""")]
    [InlineData(3, "text", "", """{"seq":3,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"BIG"}""")]
    [InlineData(3, "revisions[0].text", "", """{"seq":3,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"a","revisions":[{"revision":1,"text":"BIG"}]}""")]
    [InlineData(3, "revisions[0].revision", "", """{"seq":3,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"a","revisions":[{"revision":51,"text":"b"}]}""")]
    [InlineData(3, "candidates", "", """{"seq":3,"role":"character","create_time":"2025-01-01T00:00:00Z","primary":0,"candidates":[SWIPES33]}""")]
    public async Task Import_OfAMalformedLosslessFile_NamesItsBadLine_AndWritesNothing(int line, string field, string header, string turn)
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var file = string.Join('\n',
            header.Length > 0 ? header : $$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"T","characters":[{"character_id":"{{{ada.CharacterId}}}","name":"Ada"}]}}""",
            """{"seq":2,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"Hi."}""",
            Expand(turn));
        var before = await RowsAsync();

        var e = await AssertStatusAsync(StatusCode.InvalidArgument,
            () => ImportAsync(user, "lossless-bad", ChatExportFormat.LosslessJsonl, file, ada.CharacterId));

        Assert.Equal("data", FieldOf(e));
        Assert.StartsWith($"data: line {line}: {field} ", e.Status.Detail);
        Assert.Equal(before, await RowsAsync());
    }

    [Fact]
    public async Task Import_OfAFilteredCandidate_KeepsItFilteredWithItsCategoryAndNoText_AndAnExportSaysSo()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var file = string.Join('\n',
            $$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"T","characters":[{"character_id":"{{{ada.CharacterId}}}","name":"Ada"}]}}""",
            """{"seq":1,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"Hi."}""",
            """{"seq":2,"role":"character","create_time":"2025-01-01T00:00:01Z","reply_to_seq":1,"primary":1,"candidates":[{"state":"filtered","filter_category":"violence","create_time":"2025-01-01T00:00:01Z"},{"state":"complete","text":"Hello.","create_time":"2025-01-01T00:00:02Z"}]}""");

        var imported = await ImportAsync(user, "filtered", ChatExportFormat.LosslessJsonl, "\uFEFF" + file, ada.CharacterId);

        var candidates = await Fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement(
            "SELECT State, Text, FilterCategory FROM Candidates WHERE ChatId = @c ORDER BY CreateTime").Add("c", imported.Chat.ChatId), cancellationToken: Ct);
        Assert.Equal((6L, (string?)null, (string?)"violence"), (candidates[0].Get<long>("State"), candidates[0].Get<string?>("Text"), candidates[0].Get<string?>("FilterCategory")));
        Assert.Null(candidates[1].Get<string?>("FilterCategory"));
        var exported = Lines(await ExportAsync(user, imported.Chat.ChatId, ChatExportFormat.LosslessJsonl))[2]["candidates"]![0]!.AsObject();
        Assert.Equal("filtered", (string?)exported["state"]);
        Assert.Equal("violence", (string?)exported["filter_category"]);
        Assert.False(exported.ContainsKey("text"));
    }

    [Fact]
    public async Task Export_OfALineLongerThanAChunk_SplitsItByBytes_AndTheChunksTogetherAreTheFile()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var reply = new string('é', 100_000); // 200,000 bytes of UTF-8: one line over three chunks, cut inside characters too
        var file = string.Join('\n',
            """{"user_name":"Sam","character_name":"Ada","chat_metadata":{}}""",
            """{"name":"Sam","is_user":true,"mes":"Say it long."}""",
            $$$"""{"name":"Ada","is_user":false,"mes":"{{{reply}}}"}""");
        var imported = await ImportAsync(user, "long-line", ChatExportFormat.SillytavernJsonl, file, ada.CharacterId);

        // ExportAsync checks every chunk is at most 64 KiB and joins their bytes.
        var lines = Lines(await ExportAsync(user, imported.Chat.ChatId, ChatExportFormat.SillytavernJsonl));

        Assert.Equal(reply, (string?)lines[2]["mes"]);
    }

    [Fact]
    public async Task Import_WithSillyTavernNames_MapsEachSpeakerOfAGroupFile()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var bea = await CreateCharacterAsync(user, "Beatrice");
        const string file = """
            {"user_name":"Sam","character_name":"Ada","chat_metadata":{}}
            {"name":"Sam","is_user":true,"mes":"Hi both."}
            {"name":"ada","is_user":false,"mes":"Hello."}
            {"name":"Bea","is_user":false,"mes":"Hi!"}
            """;
        var imported = await Fixture.Client(user).ImportChatAsync(new ImportChatRequest
        {
            RequestId = "group", Format = ChatExportFormat.SillytavernJsonl, Data = Google.Protobuf.ByteString.CopyFromUtf8(file),
            CharacterIds = { ada.CharacterId, bea.CharacterId }, CharacterNames = { ["Bea"] = bea.CharacterId }, Title = "Group",
        }, cancellationToken: Ct);

        var turns = (await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = imported.Chat.ChatId }, cancellationToken: Ct)).Turns.Reverse().ToList();
        Assert.Equal(["", ada.CharacterId, bea.CharacterId], turns.Select(t => t.CharacterId));
        Assert.Equal("Group", imported.Chat.Title);
    }

    [Fact]
    public async Task Import_OfAFileWhoseTitleOrNameShowsNothing_DerivesTheNextDefault_AsNoTitle()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        // A lossless file of a chat titled only spaces (a title CreateChat took before it refused them), its character's
        // name padded with spaces (the derived title is trimmed: "Ada (imported)", not "  Ada  (imported)").
        var lossless = string.Join('\n',
            $$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"   ","characters":[{"character_id":"{{{ada.CharacterId}}}","name":"  Ada "}]}}""",
            """{"seq":1,"role":"user","create_time":"2025-01-01T00:00:00Z","text":"Hi."}""");
        var sillyTavern = "{\"user_name\":\"Sam\",\"character_name\":\" \\u3000 \"}\n{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"Hi.\"}\n";

        var fromLossless = await ImportAsync(user, "blank-title", ChatExportFormat.LosslessJsonl, lossless, ada.CharacterId);
        var fromSillyTavern = await ImportAsync(user, "blank-name", ChatExportFormat.SillytavernJsonl, sillyTavern, ada.CharacterId);

        // The file's title is no title: its first character's name then; a name that shows nothing is no name either.
        Assert.Equal("Ada (imported)", fromLossless.Chat.Title);
        Assert.Equal("Imported chat", fromSillyTavern.Chat.Title);
    }

    [Fact]
    public async Task Import_WithARequestIdUsedForAnotherFile_IsFailedPrecondition_AndARepeatReturnsTheSameChat()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        const string file = "{\"user_name\":\"Sam\",\"character_name\":\"Ada\"}\n{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"Hi.\"}\n";

        var first = await ImportAsync(user, "once", ChatExportFormat.SillytavernJsonl, file, ada.CharacterId);
        var repeat = await ImportAsync(user, "once", ChatExportFormat.SillytavernJsonl, file, ada.CharacterId);
        var before = await RowsAsync();
        var e = await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => ImportAsync(user, "once", ChatExportFormat.SillytavernJsonl, file + "{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"More.\"}\n", ada.CharacterId));

        Assert.Equal(first.Chat.ChatId, repeat.Chat.ChatId);
        Assert.Equal((1L, 0L, 0L), (first.TurnCount, first.CandidateCount, first.SkippedSystemMessages));
        Assert.Equal(first, repeat);
        Assert.Contains("request_id", e.Status.Detail);
        Assert.Equal(before, await RowsAsync());
        Assert.Single((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
    }

    [Fact]
    public async Task ExportAndImport_OfAnotherUsersChatOrCharacter_AreNotFound()
    {
        var owner = TestUsers.New();
        var other = TestUsers.New();
        var ada = await CreateCharacterAsync(owner);
        var chat = await CreateChatAsync(owner, ada);
        var export = await ExportAsync(owner, chat.ChatId, ChatExportFormat.LosslessJsonl);
        var before = await RowsAsync();

        await AssertStatusAsync(StatusCode.NotFound, () => ExportAsync(other, chat.ChatId, ChatExportFormat.LosslessJsonl));
        await AssertStatusAsync(StatusCode.NotFound, () => ImportAsync(other, "steal", ChatExportFormat.LosslessJsonl, export)); // Ada is private to her owner

        Assert.Equal(before, await RowsAsync());
    }

    [Fact]
    public async Task Import_OverImportMaxBytes_IsRefusedBeforeAnythingIsWritten()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var header = "{\"user_name\":\"Sam\",\"character_name\":\"Ada\"}\n";
        // A reply's text: a user's is held to Chat:MaxMessageBytes, far below these sizes.
        string FileOf(int bytes) => header + "{\"name\":\"Ada\",\"is_user\":false,\"mes\":\"" + new string('x', bytes - header.Length - 50) + "\"}\n";
        var before = await RowsAsync();

        // Over Import:MaxBytes but within the request's room for its other fields: the validator names data.
        var e = await AssertStatusAsync(StatusCode.InvalidArgument,
            () => ImportAsync(user, "too-big", ChatExportFormat.SillytavernJsonl, FileOf(PortabilityFixture.MaxBytes + 1024), ada.CharacterId));
        Assert.Equal("data", FieldOf(e));

        // Past that, the request is refused before it is read.
        await AssertStatusAsync(StatusCode.ResourceExhausted,
            () => ImportAsync(user, "far-too-big", ChatExportFormat.SillytavernJsonl, FileOf(PortabilityFixture.MaxBytes + 64 * 1024), ada.CharacterId));

        Assert.Equal(before, await RowsAsync());
        var fits = await ImportAsync(user, "fits", ChatExportFormat.SillytavernJsonl, FileOf(PortabilityFixture.MaxBytes - 1024), ada.CharacterId);
        Assert.Equal(1, fits.TurnCount);
    }

    private static (long, AuthorRole, string, string, TurnState, bool, int, string, long) Shown(Turn t) =>
        (t.Seq, t.Role, t.CharacterId, t.Text, t.State, t.Edited, t.Rating?.Stars ?? 0, string.Join(',', t.Rating?.Tags ?? []), t.ReplyToSeq);

    private static (string, TurnState, bool, bool, int, string) Swipe(Candidate c) =>
        (c.Text, c.State, c.Primary, c.Edited, c.Rating?.Stars ?? 0, c.Rating?.Comment ?? "");

    /// <summary>An export without what a copy cannot share with its original: the chat's id and creation, the candidates' ids.</summary>
    private static List<string> Normalized(string export)
    {
        var lines = Lines(export);
        var chat = lines[0]["chat"]!.AsObject();
        chat.Remove("chat_id");
        chat.Remove("create_time");
        foreach (var turn in lines.Skip(1))
        {
            foreach (var candidate in turn["candidates"]?.AsArray() ?? [])
            {
                candidate!.AsObject().Remove("candidate_id");
            }
        }

        return [.. lines.Select(l => l.ToJsonString())];
    }

    /// <summary>
    /// A test line with its placeholders filled: BIG a user text one byte over Chat:MaxMessageBytes (8192 by
    /// default), SWIPES33 one candidate (or swipe) more than a turn may hold.
    /// </summary>
    private static string Expand(string line) => line
        .Replace("BIG", new string('x', 8193), StringComparison.Ordinal)
        .Replace("SWIPES33", line.Contains("\"candidates\"", StringComparison.Ordinal)
            ? string.Join(',', Enumerable.Repeat("""{"state":"complete","text":"a"}""", 33))
            : string.Join(',', Enumerable.Repeat("\"a\"", 33)), StringComparison.Ordinal);
}
