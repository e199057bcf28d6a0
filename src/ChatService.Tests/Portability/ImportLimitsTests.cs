using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using ChatService.Api.V1;
using ChatService.Portability;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Portability;

/// <summary>
/// A small mutation budget (2,000 a commit, which still holds the largest turn the limits allow), at most 700
/// candidates a file, and at most two imports at once (one per user).
/// </summary>
public sealed class ImportLimitsFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int BatchMutations = 2_000;

    public const int MaxCandidates = 700;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Import:BatchMutations"] = BatchMutations.ToString(CultureInfo.InvariantCulture),
        ["Import:BatchTurns"] = "1000",
        ["Import:MaxCandidates"] = MaxCandidates.ToString(CultureInfo.InvariantCulture),
        ["Import:MaxConcurrent"] = "2",
        ["Import:MaxConcurrentPerUser"] = "1",
    };
}

/// <summary>
/// The bounds of ImportChat: the mutations each commit really sends, the candidates a file may bring, how many
/// imports run at once, the start-up check of the batch budget, and imported rows shaped as recorded ones.
/// </summary>
public sealed class ImportLimitsTests(ImportLimitsFixture fixture) : ApiTestBase(fixture), IClassFixture<ImportLimitsFixture>
{
    /// <summary>Spanner's limit of mutations in one commit.</summary>
    private const int SpannerCommitLimit = 80_000;

    // Marks the commits of the import under test: the meter's callback runs on the committing flow, which
    // carries this from the test's call, so other tests' commits in the process are not counted.
    private static readonly AsyncLocal<bool> Counting = new();

    private new ImportLimitsFixture Fixture { get; } = fixture;

    [Fact]
    public async Task Commits_SendNoMoreMutationsThanTheBudget_CountedAsSent()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        // 12 replies of 32 rated candidates and 5 revisions each: some 720 mutations a reply, so the 2,000 budget
        // takes two replies a commit where the turn limit (1,000) would take all 24 turns at once.
        var file = HeavyFile(ada.CharacterId, replies: 12, candidates: 32);
        var sent = new List<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == global::Spanner.Client.SpannerTelemetry.MeterName && instrument.Name == "spanner.client.commit.mutations")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            if (Counting.Value)
            {
                lock (sent)
                {
                    sent.Add(value);
                }
            }
        });
        listener.Start();

        Counting.Value = true;
        var result = await Fixture.Service<ChatPortability>().ImportAsync(
            new ChatImportRequest(user, "heavy", ChatFileFormat.Lossless, Encoding.UTF8.GetBytes(file), [ada.CharacterId], new Dictionary<string, string>(), null), Ct);
        Counting.Value = false;

        Assert.True(result.Done);
        Assert.Equal(24, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", result.ChatId)));
        Assert.Equal(12 * 32, await Fixture.CountAsync("SELECT COUNT(*) FROM Ratings WHERE ChatId = @c", ("c", result.ChatId)));
        // The first commit (the chat and the import's record), then the batches: at least six of two replies each.
        Assert.InRange(sent.Count, 7, 25);
        Assert.All(sent, count => Assert.InRange(count, 1, Math.Min(ImportLimitsFixture.BatchMutations, SpannerCommitLimit)));
        // The budget is really what cut the batches: they come close to it.
        Assert.InRange(sent.Max(), ImportLimitsFixture.BatchMutations / 2, ImportLimitsFixture.BatchMutations);
    }

    [Fact]
    public async Task Import_PastMaxCandidates_IsRefusedNamingTheLineAndWritesNothing()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        // 8 MiB of empty swipes would be millions of candidates: line 2 brings 32 of them, and so on until the 700th.
        var lines = new List<string> { """{"user_name":"Sam","character_name":"Ada","chat_metadata":{}}""" };
        var swipes = string.Join(',', Enumerable.Repeat("\"\"", 32));
        for (var i = 0; i < 30; i++)
        {
            lines.Add($$"""{"name":"Ada","is_user":false,"mes":"","swipes":[{{swipes}}],"swipe_id":0}""");
        }

        var before = await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u", ("u", user));
        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await Fixture.Client(user).ImportChatAsync(new ImportChatRequest
        {
            RequestId = "too-many-swipes",
            Format = ChatExportFormat.SillytavernJsonl,
            Data = ByteString.CopyFromUtf8(string.Join('\n', lines)),
            CharacterIds = { ada.CharacterId },
        }, cancellationToken: Ct));

        // 21 lines of 32 are 672; the 22nd message, on line 23, passes 700.
        Assert.Equal("data", FieldOf(ex));
        Assert.Contains("line 23:", ex.Status.Detail);
        Assert.Contains("Import:MaxCandidates, 700", ex.Status.Detail);
        Assert.Equal(before, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u", ("u", user)));
        Assert.Empty((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
    }

    [Fact]
    public async Task Imports_OverTheUserOrProcessBound_AreResourceExhaustedWithARetryDelay()
    {
        var (sam, kim, lee) = (TestUsers.New(), TestUsers.New(), TestUsers.New());
        var characters = new Dictionary<string, string>();
        foreach (var user in new[] { sam, kim, lee })
        {
            characters[user] = (await CreateCharacterAsync(user, "Ada")).CharacterId;
        }

        Task<ImportChatResponse> Import(string user, string requestId) => Fixture.Client(user).ImportChatAsync(new ImportChatRequest
        {
            RequestId = requestId,
            Format = ChatExportFormat.SillytavernJsonl,
            Data = ByteString.CopyFromUtf8("{\"user_name\":\"Sam\",\"character_name\":\"Ada\"}\n{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"hi\"}"),
            CharacterIds = { characters[user] },
        }, cancellationToken: Ct).ResponseAsync;

        var gate = Fixture.Service<ImportGate>();

        // Sam has an import running: a second one of Sam's waits, Kim's goes ahead.
        using (gate.Enter(sam))
        {
            var mine = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Import(sam, "sam-1"));
            Assert.Contains("Import:MaxConcurrentPerUser", mine.Status.Detail);
            Assert.Equal(ImportGate.RetryAfter, ChatService.Tests.Limits.RetryInfoAssert.RetryDelay(mine));
            await Import(kim, "kim-1");

            // Sam's and Kim's run: the process's two slots are taken, and Lee waits too.
            using (gate.Enter(kim))
            {
                var full = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Import(lee, "lee-1"));
                Assert.Contains("Import:MaxConcurrent", full.Status.Detail);
                Assert.Equal(ImportGate.RetryAfter, ChatService.Tests.Limits.RetryInfoAssert.RetryDelay(full));
            }

            await Import(lee, "lee-1");
        }

        // Refused imports wrote nothing; once the slots are free, a retry of each works.
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u", ("u", sam)));
        await Import(sam, "sam-1");
        Assert.Equal(0, gate.Running);
        foreach (var user in new[] { sam, kim, lee })
        {
            Assert.Single((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
        }
    }

    [Fact]
    public async Task Imports_AtOnceOfOneUser_OneRunsTheOtherIsRefused()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var file = ByteString.CopyFromUtf8(HeavyFile(ada.CharacterId, replies: 2, candidates: 2));
        Task<ImportChatResponse> Import(string id) => Fixture.Client(user).ImportChatAsync(new ImportChatRequest
        {
            RequestId = id, Format = ChatExportFormat.LosslessJsonl, Data = file, CharacterIds = { ada.CharacterId },
        }, cancellationToken: Ct).ResponseAsync;

        // The first import is held once it has its slot, so the second (another request_id) surely overlaps it.
        var gate = Fixture.Service<ImportGate>();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.OnEntered = async (who, id, ct) =>
        {
            if (who == user && id == "one")
            {
                entered.TrySetResult();
                await release.Task.WaitAsync(ct);
            }
        };
        try
        {
            var first = Import("one");
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

            var second = await AssertStatusAsync(StatusCode.ResourceExhausted, () => Import("two"));
            Assert.Contains("Import:MaxConcurrentPerUser", second.Status.Detail);

            release.TrySetResult();
            Assert.Equal(4, (await first).TurnCount);
        }
        finally
        {
            release.TrySetResult();
            gate.OnEntered = null;
        }

        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u AND Done", ("u", user)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u", ("u", user)));
    }

    [Fact]
    public async Task ARetryOfAFinishedImport_IsAnsweredFromItsRecord_WhileEverySlotIsHeld()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        ImportChatRequest Request(string file) => new()
        {
            RequestId = "finished",
            Format = ChatExportFormat.SillytavernJsonl,
            Data = ByteString.CopyFromUtf8(file),
            CharacterIds = { ada.CharacterId },
        };
        const string file = """
            {"user_name":"Sam","character_name":"Ada"}
            {"name":"Sam","is_user":true,"mes":"Hi."}
            {"name":"Ada","is_user":false,"mes":"Hello.","swipes":["Hello.","Hi!"],"swipe_id":0}
            {"name":"System","is_user":false,"is_system":true,"mes":"(a note)"}
            """;
        var client = Fixture.Client(user);
        var first = await client.ImportChatAsync(Request(file), cancellationToken: Ct);
        Assert.Equal((2L, 2L, 1L), (first.TurnCount, first.CandidateCount, first.SkippedSystemMessages));

        // Every slot of the process taken (by other users' imports): a retry that needed one would be RESOURCE_EXHAUSTED.
        var gate = Fixture.Service<ImportGate>();
        var parsed = 0;
        gate.OnEntered = (who, _, _) =>
        {
            if (who == user)
            {
                Interlocked.Increment(ref parsed);
            }

            return Task.CompletedTask;
        };
        try
        {
            using (gate.Enter(TestUsers.New()))
            using (gate.Enter(TestUsers.New()))
            {
                var retry = await client.ImportChatAsync(Request(file), cancellationToken: Ct);
                Assert.Equal(first, retry);

                // The record still ties the request id to its file: another file under it is refused, as before.
                var other = await AssertStatusAsync(StatusCode.FailedPrecondition,
                    async () => await client.ImportChatAsync(Request(file + "\n{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"More.\"}"), cancellationToken: Ct));
                Assert.Contains("request_id", other.Status.Detail);
            }

            // With the slots free, a retry that wanted one would take it (OnEntered fires only then, so the retries
            // above, refused a slot, could not have counted): it still takes none.
            Assert.Equal(first, await client.ImportChatAsync(Request(file), cancellationToken: Ct));
            Assert.Equal(0, parsed);

            // A record written before schema version 24 has no counts: the retry parses its file again, in a slot,
            // and answers the same.
            await Fixture.Database.RunInTransactionAsync(async (tx, ct) => await tx.ExecuteDmlAsync(
                new SpannerStatement("UPDATE ChatImports SET CandidateCount = NULL, SkippedSystemMessages = NULL WHERE UserId = @u AND RequestId = @r")
                    .Add("u", user).Add("r", "finished"), ct), Ct);
            Assert.Equal(first, await client.ImportChatAsync(Request(file), cancellationToken: Ct));
            Assert.Equal(1, parsed);
        }
        finally
        {
            gate.OnEntered = null;
        }

        Assert.Single((await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
    }

    [Fact]
    public async Task ImportedRows_HaveTheShapeOfRecordedOnes()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var chat = await CreateChatAsync(user, ada);
        await SendAsync(user, chat.ChatId, "What is the time?", "ask");
        var client = Fixture.Client(user);
        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 3, Tags = { "clear" } }, cancellationToken: Ct);
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "What time is it?", RequestId = "fix" }, cancellationToken: Ct);
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "Noon.", RequestId = "fix-reply" }, cancellationToken: Ct);

        using var export = client.ExportChat(new ExportChatRequest { ChatId = chat.ChatId, Format = ChatExportFormat.LosslessJsonl }, cancellationToken: Ct);
        var bytes = new MemoryStream();
        await foreach (var chunk in export.ResponseStream.ReadAllAsync(Ct))
        {
            chunk.Data.WriteTo(bytes);
        }

        var imported = await client.ImportChatAsync(new ImportChatRequest
        {
            RequestId = "copy", Format = ChatExportFormat.LosslessJsonl, Data = ByteString.CopyFrom(bytes.ToArray()), CharacterIds = { ada.CharacterId },
        }, cancellationToken: Ct);

        // Every column of every row: set in the imported copy exactly where it is set in the recorded chat. A send's
        // request id is the original chat's idempotency record only (a retry of that send concerns that chat).
        foreach (var table in new[] { "Turns", "Candidates", "Ratings", "TurnRevisions" })
        {
            var recorded = await ShapeAsync(table, chat.ChatId);
            var copy = await ShapeAsync(table, imported.Chat.ChatId);
            Assert.NotEmpty(recorded);
            Assert.Equal(
                recorded.Select(r => r.Replace("RequestId=set", "RequestId=null", StringComparison.Ordinal)),
                copy);
        }

        // And the values that say what the turn is: the same.
        var sql = "SELECT Seq, AuthorRole, CharacterId, Text, ReplyToSeq, CandidateCount, Edited FROM Turns WHERE ChatId = @c ORDER BY Seq";
        Assert.Equal(
            (await Fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement(sql).Add("c", chat.ChatId), cancellationToken: Ct)).Select(Values),
            (await Fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement(sql).Add("c", imported.Chat.ChatId), cancellationToken: Ct)).Select(Values));
    }

    [Fact]
    public void BatchMutations_TooSmallForTheLargestTurn_FailsAtStartUp()
    {
        // 32 candidates each rated and 50 revisions: 13 + 32 * 21 + 50 * 6 = 985, and 64 a batch: 1049.
        var small = StartFails(new() { ["Import:BatchMutations"] = "1048" });
        Assert.Contains("Import:BatchMutations (1048) must hold the largest turn a file may carry: 1049 mutations", small.Message);
        Assert.Null(StartError(new() { ["Import:BatchMutations"] = "1049" }));

        // Fewer candidates a turn make a smaller budget enough: 13 + 29 * 21 + 50 * 6 + 64 = 986.
        Assert.Null(StartError(new() { ["Import:BatchMutations"] = "986", ["Import:MaxCandidatesPerTurn"] = "29" }));
        Assert.Contains("must hold the largest turn a file may carry: 986 mutations",
            StartFails(new() { ["Import:BatchMutations"] = "985", ["Import:MaxCandidatesPerTurn"] = "29" }).Message);
    }

    /// <summary>Each row of the chat's table as "Column=set|null" for every column but the keys and times, in key order.</summary>
    private async Task<List<string>> ShapeAsync(string table, string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(
            new global::Spanner.Client.SpannerStatement($"SELECT * FROM {table} WHERE ChatId = @c ORDER BY Seq").Add("c", chatId), cancellationToken: Ct);
        var skip = new HashSet<string> { "ChatId", "Seq", "CandidateId", "CreateTime", "UpdateTime", "EditTime", "Revision" };
        return [.. rows.Select(row => string.Join(", ", Enumerable.Range(0, row.FieldCount)
            .Where(i => !skip.Contains(row.GetName(i)))
            .Select(i => $"{row.GetName(i)}={(row.IsNull(i) ? "null" : "set")}")))];
    }

    private static string Values(global::Spanner.Client.SpannerRow row) => row.ToString();

    /// <summary>A Production start (<see cref="ProductionStart"/>) with the header switch, so token settings are not needed.</summary>
    private static Microsoft.Extensions.Options.OptionsValidationException? StartError(Dictionary<string, string?> settings) =>
        ProductionStart.Error(new Dictionary<string, string?>(settings) { ["Auth:AllowUserIdHeader"] = "true" });

    private static Microsoft.Extensions.Options.OptionsValidationException StartFails(Dictionary<string, string?> settings) =>
        StartError(settings) ?? throw new Xunit.Sdk.XunitException("expected the start to fail the Import options' validation");

    /// <summary>A lossless file of user turns each answered by a reply of <paramref name="candidates"/> rated candidates with five revisions.</summary>
    internal static string HeavyFile(string characterId, int replies, int candidates)
    {
        var file = new StringBuilder();
        file.Append($$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"Heavy","characters":[{"character_id":"{{{characterId}}}","name":"Ada"}]}}""").Append('\n');
        var candidate = $$$"""{"state":"complete","text":"a reply","create_time":"2025-01-01T00:00:01Z","rating":{"stars":2,"tags":["long","odd"],"comment":"meh","update_time":"2025-01-01T00:00:03Z"}}""";
        var all = string.Join(',', Enumerable.Repeat(candidate, candidates));
        var revisions = string.Join(',', Enumerable.Range(1, 5).Select(r => $$$"""{"revision":{{{r}}},"candidate":0,"text":"earlier {{{r}}}","edit_time":"2025-01-01T00:00:02Z"}"""));
        for (var i = 0; i < replies; i++)
        {
            var seq = 2 * i + 1;
            file.Append($$$"""{"seq":{{{seq}}},"role":"user","create_time":"2025-01-01T00:00:00Z","text":"question {{{seq}}}"}""").Append('\n');
            file.Append($$$"""{"seq":{{{seq + 1}}},"role":"character","create_time":"2025-01-01T00:00:01Z","reply_to_seq":{{{seq}}},"character_id":"{{{characterId}}}","primary":0,"candidates":[{{{all}}}],"revisions":[{{{revisions}}}]}""").Append('\n');
        }

        return file.ToString();
    }
}
