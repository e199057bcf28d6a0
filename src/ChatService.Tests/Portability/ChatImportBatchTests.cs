using System.Text;
using ChatService.Api.V1;
using ChatService.Portability;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;

namespace ChatService.Tests.Portability;

/// <summary>
/// An import bigger than one commit: written in batches (ten turns each here), invisible until the last one
/// commits, and resumed by a retry with the same request id after an interruption.
/// </summary>
public sealed class ChatImportBatchTests(PortabilityFixture fixture) : PortabilityTestBase(fixture), IClassFixture<PortabilityFixture>
{
    private const int Turns = 95;

    [Fact]
    public async Task Import_InterruptedAfterSomeBatches_IsHiddenUntilARetryWithTheSameRequestIdFinishesIt()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var file = LosslessFile(ada.CharacterId, Turns);
        var request = new ChatImportRequest(user, "big-import", ChatFileFormat.Lossless, Encoding.UTF8.GetBytes(file), [ada.CharacterId], new Dictionary<string, string>(), null);

        // Three batch commits, then the call stops as a killed one would.
        var partial = await Fixture.Service<ChatPortability>().ImportAsync(request, Ct, stopAfterBatches: 3);

        Assert.False(partial.Done);
        Assert.Equal(3 * PortabilityFixture.BatchTurns, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", partial.ChatId)));
        Assert.Equal("", await OwnerAsync(partial.ChatId));
        Assert.Empty((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
        await AssertStatusAsync(Grpc.Core.StatusCode.NotFound,
            async () => await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = partial.ChatId }, cancellationToken: Ct));

        var resumed = await Fixture.Client(user).ImportChatAsync(new ImportChatRequest
        {
            RequestId = "big-import", Format = ChatExportFormat.LosslessJsonl, Data = ByteString.CopyFromUtf8(file), CharacterIds = { ada.CharacterId },
        }, cancellationToken: Ct);

        Assert.Equal(partial.ChatId, resumed.Chat.ChatId);
        Assert.Equal((long)Turns, resumed.TurnCount);
        Assert.Equal(user, await OwnerAsync(partial.ChatId));
        Assert.Equal(Turns, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", partial.ChatId)));
        Assert.Equal(Turns / 2 * 2, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c", ("c", partial.ChatId)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u AND Done", ("u", user)));
        Assert.Single((await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);

        // Every turn once, in order, with its own text: nothing written twice or skipped at a batch's edge.
        var export = Lines(await ExportAsync(user, partial.ChatId, ChatExportFormat.LosslessJsonl));
        Assert.Equal(Enumerable.Range(1, Turns).Select(i => (long)i), export.Skip(1).Select(l => (long)l["seq"]!));
        Assert.Equal(Enumerable.Range(1, Turns).Select(Text), export.Skip(1).Select(l => (string?)(l["text"] ?? l["candidates"]![(int)l["primary"]!]!["text"])));
    }

    [Fact]
    public async Task Import_ResumedAfterTheCastChanged_FinishesWithTheSpeakersItsFirstCommitResolved()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var bea = await CreateCharacterAsync(user, "Bea");
        var lines = new List<string> { """{"user_name":"Sam","character_name":"Ada","chat_metadata":{}}""" };
        for (var i = 1; i <= 30; i++)
        {
            lines.Add(i % 2 == 1
                ? $$$"""{"name":"Sam","is_user":true,"mes":"question {{{i}}}"}"""
                : $$$"""{"name":"{{{(i % 4 == 0 ? "Bea" : "Ada")}}}","is_user":false,"mes":"answer {{{i}}}"}""");
        }

        var file = string.Join('\n', lines);
        var request = new ChatImportRequest(user, "cast-changes", ChatFileFormat.SillyTavern, Encoding.UTF8.GetBytes(file), [ada.CharacterId, bea.CharacterId], new Dictionary<string, string>(), null);
        var partial = await Fixture.Service<ChatPortability>().ImportAsync(request, Ct, stopAfterBatches: 1);
        Assert.False(partial.Done);

        // Between the attempts Ada takes Bea's name and Bea is deleted: matching the names again, or checking the cast again, would fail.
        await Fixture.Client(user).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = ada.CharacterId, DisplayName = "Bea" },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "display_name" } },
        }, cancellationToken: Ct);
        await Fixture.Client(user).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = bea.CharacterId }, cancellationToken: Ct);

        var resumed = await Fixture.Service<ChatPortability>().ImportAsync(request, Ct);
        var again = await Fixture.Service<ChatPortability>().ImportAsync(request, Ct);

        Assert.True(resumed.Done);
        Assert.Equal(partial.ChatId, resumed.ChatId);
        Assert.Equal(partial.ChatId, again.ChatId);
        var speakers = await Fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement(
            "SELECT Seq, CharacterId FROM Turns WHERE ChatId = @c AND AuthorRole = 2 ORDER BY Seq").Add("c", partial.ChatId), cancellationToken: Ct);
        Assert.Equal(15, speakers.Count);
        Assert.All(speakers, row => Assert.Equal(row.Get<long>("Seq") % 4 == 0 ? bea.CharacterId : ada.CharacterId, row.Get<string>("CharacterId")));
    }

    [Fact]
    public async Task Import_CancelledByItsCallerMidway_IsFinishedByARetryWithTheSameRequestId()
    {
        const int turns = 600;
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var request = new ImportChatRequest
        {
            RequestId = "cut-off", Format = ChatExportFormat.LosslessJsonl, Data = ByteString.CopyFromUtf8(LosslessFile(ada.CharacterId, turns)), CharacterIds = { ada.CharacterId },
        };

        // The caller goes away after a few of the 60 batches: the server's call is cancelled with it, and stops.
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = Fixture.Client(user).ImportChatAsync(request, cancellationToken: leave.Token).ResponseAsync;
        var until = DateTime.UtcNow.AddSeconds(60);
        while (await Fixture.CountAsync("SELECT COALESCE(SUM(TurnsWritten), 0) FROM ChatImports WHERE UserId = @u", ("u", user)) < 20)
        {
            Assert.False(call.IsCompleted, "the import ended before it could be cut off");
            Assert.True(DateTime.UtcNow < until, "the import wrote no 20 turns in 60 s");
            await Task.Delay(10, Ct);
        }

        await leave.CancelAsync();
        Assert.Equal(Grpc.Core.StatusCode.Cancelled, (await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await call)).StatusCode);

        // Retried at once, while the server's cancelled attempt may still be winding down (mid-commit): the retry
        // is not refused by its own earlier attempt (ImportGate waits for it), and finishes the import.
        var resumed = await Fixture.Client(user).ImportChatAsync(request, cancellationToken: Ct);

        Assert.Equal((long)turns, resumed.TurnCount);
        var export = Lines(await ExportAsync(user, resumed.Chat.ChatId, ChatExportFormat.LosslessJsonl));
        Assert.Equal(Enumerable.Range(1, turns).Select(i => (long)i), export.Skip(1).Select(l => (long)l["seq"]!));
        Assert.Equal(Enumerable.Range(1, turns).Select(Text), export.Skip(1).Select(l => (string?)(l["text"] ?? l["candidates"]![(int)l["primary"]!]!["text"])));
        Assert.Equal(turns, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c", ("c", resumed.Chat.ChatId)));
    }

    private async Task<string> OwnerAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(new global::Spanner.Client.SpannerStatement("SELECT UserId FROM Chats WHERE ChatId = @c").Add("c", chatId));
        return rows[0].Get<string>("UserId");
    }

    internal static string Text(int seq) => $"turn {seq}";

    /// <summary>A lossless file of <paramref name="turns"/> turns: odd ones the user's, even ones Ada's with two candidates (the second shown).</summary>
    internal static string LosslessFile(string characterId, int turns)
    {
        var file = new StringBuilder();
        file.Append($$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"Long","characters":[{"character_id":"{{{characterId}}}","name":"Ada"}]}}""").Append('\n');
        for (var seq = 1; seq <= turns; seq++)
        {
            file.Append(seq % 2 == 1
                ? $$$"""{"seq":{{{seq}}},"role":"user","create_time":"2025-01-01T00:00:00Z","text":"{{{Text(seq)}}}"}"""
                : $$$"""{"seq":{{{seq}}},"role":"character","create_time":"2025-01-01T00:00:01Z","reply_to_seq":{{{seq - 1}}},"character_id":"{{{characterId}}}","primary":1,"candidates":[{"state":"complete","text":"draft {{{seq}}}","create_time":"2025-01-01T00:00:01Z"},{"state":"complete","text":"{{{Text(seq)}}}","create_time":"2025-01-01T00:00:02Z"}]}""");
            file.Append('\n');
        }

        return file.ToString();
    }
}
