using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Portability;

/// <summary>
/// The service process is SIGKILLed in the middle of an ImportChat of 300 turns (three a commit, so there are
/// a hundred commits to die between, light enough for a loaded 2-core CI machine); a retry with the same request_id on another process finishes it: every
/// turn once, in order, none written twice or skipped, and the chat its user's only then.
/// </summary>
public sealed class ImportCrashTests(LocalStack stack) : IAsyncLifetime
{
    private const int Turns = 300;
    private readonly ProcessDatabase _database = new(stack, "ki");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string replica) => _database.Settings(replica, new Dictionary<string, string>
    {
        ["Import:BatchTurns"] = "3",
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task KilledMidImport_ARetryWithTheSameRequestIdOnAnotherProcessFinishesIt()
    {
        var user = TestUsers.New();
        string characterId;
        ByteString file;
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        await using (var first = await ServiceProcess.StartAsync(Settings("replica-a"), Ct))
        {
            var client = first.Client(user);
            characterId = (await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct)).CharacterId;
            file = ByteString.CopyFromUtf8(ChatImportBatchTests.LosslessFile(characterId, Turns));
            var call = client.ImportChatAsync(Request(file, characterId), deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: Ct).ResponseAsync;

            // Killed once some batches are committed, long before the last.
            var until = DateTime.UtcNow.AddSeconds(120);
            while (await WrittenAsync(database, user) < 30)
            {
                Assert.False(call.IsCompleted, $"the import ended before it could be cut off: {call.Exception?.InnerException?.Message ?? "done"}");
                Assert.True(DateTime.UtcNow < until, $"the import wrote no 30 turns in 120 s\n{first.Output}");
                await Task.Delay(100, Ct);
            }

            await first.KillAsync();
            var cut = await Assert.ThrowsAsync<RpcException>(async () => await call);
            Assert.Equal(StatusCode.Unavailable, cut.StatusCode);
        }

        // Cut off midway: some batches written, the chat nobody's yet.
        var written = await WrittenAsync(database, user);
        Assert.InRange(written, 30, Turns - 1);
        var chatId = (await database.QueryListAsync(new SpannerStatement("SELECT ChatId FROM ChatImports WHERE UserId = @u").Add("u", user), cancellationToken: Ct))[0].Get<string>(0);
        Assert.Equal(written, await CountAsync(database, "SELECT COUNT(*) FROM Turns WHERE ChatId = @c", chatId));
        Assert.Equal(0, await CountAsync(database, "SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND UserId != ''", chatId));

        await using (var second = await ServiceProcess.StartAsync(Settings("replica-b"), Ct))
        {
            var client = second.Client(user);
            var done = await client.ImportChatAsync(Request(file, characterId), deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: Ct);
            Assert.Equal(chatId, done.Chat.ChatId);
            Assert.Equal(Turns, done.TurnCount);

            // Every turn once, with its own text, and each reply's two candidates: nothing repeated or skipped at the cut.
            var seqs = await database.QueryListAsync(new SpannerStatement("SELECT Seq FROM Turns WHERE ChatId = @c ORDER BY Seq").Add("c", chatId), cancellationToken: Ct);
            Assert.Equal(Enumerable.Range(1, Turns).Select(i => (long)i), seqs.Select(r => r.Get<long>(0)));
            Assert.Equal(Turns, await CountAsync(database, "SELECT COUNT(*) FROM Candidates WHERE ChatId = @c", chatId));
            Assert.Equal(0, await CountAsync(database,
                "SELECT COUNT(*) FROM Turns t WHERE ChatId = @c AND (t.CandidateCount != (SELECT COUNT(*) FROM Candidates x WHERE x.ChatId = t.ChatId AND x.Seq = t.Seq))", chatId));
            var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 100 }, cancellationToken: Ct);
            Assert.Equal(100, history.Turns.Count);
            Assert.Equal(Enumerable.Range(Turns - 99, 100).Reverse().Select(ChatImportBatchTests.Text), history.Turns.Select(t => t.Text));
            Assert.Single((await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
        }
    }

    private static ImportChatRequest Request(ByteString file, string characterId) => new()
    {
        RequestId = "long-import",
        Format = ChatExportFormat.LosslessJsonl,
        Data = file,
        CharacterIds = { characterId },
    };

    private static async Task<long> WrittenAsync(SpannerDatabaseClient database, string user)
    {
        var rows = await database.QueryListAsync(new SpannerStatement("SELECT TurnsWritten FROM ChatImports WHERE UserId = @u").Add("u", user), cancellationToken: Ct);
        return rows.Count == 0 ? 0 : rows[0].Get<long>(0);
    }

    private static async Task<long> CountAsync(SpannerDatabaseClient database, string sql, string chatId) =>
        (await database.QueryListAsync(new SpannerStatement(sql).Add("c", chatId), cancellationToken: Ct))[0].Get<long>(0);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _database.DisposeAsync();
}
