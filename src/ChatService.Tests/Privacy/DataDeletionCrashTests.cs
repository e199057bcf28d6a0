using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Spanner.Client;

namespace ChatService.Tests.Privacy;

/// <summary>
/// The service process is SIGKILLed halfway through a DeleteMyData of 1,000 chats (small batches, so there are
/// many commits to die between); a retry of the same request on a new process takes the deletion over once its
/// lease runs out and finishes it: no row and no Redis key of the user's is left, and another user's are all there.
/// </summary>
public sealed class DataDeletionCrashTests(LocalStack stack) : IAsyncLifetime
{
    private const int SeededChats = 1000;
    private readonly ProcessDatabase _database = new(stack, "d");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string replica) => _database.Settings(replica, new Dictionary<string, string>
    {
        ["DataDeletion:ChatsPerBatch"] = "5",
        ["DataDeletion:Lease"] = "00:00:03",
        ["DataDeletion:SweepInterval"] = "00:00:00.500",
        ["DataDeletion:PollInterval"] = "00:00:00.200",
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task KilledHalfway_ARetryOnAnotherProcessFinishesTheDeletion()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        UserData mine;
        UserData theirs;
        IReadOnlyList<string> theirRows;
        IReadOnlyList<string> theirKeys;
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        await using (var first = await ServiceProcess.StartAsync(Settings("replica-a"), Ct))
        {
            var client = first.Client(user);
            mine = await UserData.CreateAsync(client, user, Ct);
            theirs = await UserData.CreateAsync(first.Client(other), other, Ct);
            mine.ChatIds.AddRange(await UserDataProbe.SeedChatsAsync(database, user, mine.Private.CharacterId, SeededChats, Ct));
            foreach (var chatId in mine.ChatIds.TakeLast(10))
            {
                await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
            }

            theirRows = await UserDataProbe.RowsNamingAsync(database, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct);
            theirKeys = await UserDataProbe.RedisKeysNamingAsync(stack, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct);

            // The caller goes away once the deletion is running (a long deadline, cancelled then, so a loaded
            // machine cannot end the call before the deletion starts); it goes on without the caller, until the
            // process dies halfway.
            using var leave = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            var call = client.DeleteMyDataAsync(
                new DeleteMyDataRequest { RequestId = "erase" }, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: leave.Token);
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (true)
            {
                try
                {
                    if ((await client.GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).State == DataDeletionState.Running)
                    {
                        break;
                    }
                }
                catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.NotFound)
                {
                    // Not started yet.
                }

                Assert.True(DateTime.UtcNow < deadline, $"the deletion did not start in 120 s\n{first.Output}");
                await Task.Delay(20, Ct);
            }

            await leave.CancelAsync();
            var cut = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await call);
            Assert.Equal(Grpc.Core.StatusCode.Cancelled, cut.StatusCode);

            DataDeletion progress;
            while ((progress = await client.GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct)).ChatsDeleted < SeededChats / 2)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the deletion did not reach half of the chats in 120 s: {progress}\n{first.Output}");
                await Task.Delay(50, Ct);
            }

            await first.KillAsync();
        }

        // Halfway: some chats gone, some left, the deletion running and leased to the dead process.
        var left = await CountAsync(database, "SELECT COUNT(*) FROM Chats WHERE UserId = @u", user);
        Assert.InRange(left, 1, SeededChats);
        Assert.Equal(1, await CountAsync(database, "SELECT COUNT(*) FROM DataDeletions WHERE UserId = @u AND State = 1 AND Owner = 'replica-a'", user));

        await using (var second = await ServiceProcess.StartAsync(Settings("replica-b"), Ct))
        {
            var done = await second.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "erase" }, deadline: DateTime.UtcNow.AddSeconds(120), cancellationToken: Ct);
            Assert.Equal(DataDeletionState.Done, done.State);
            Assert.Equal(SeededChats + 1, done.ChatsDeleted);
            Assert.Equal(2, done.CharactersDeleted);
            // Carried on from where the dead process stopped: by the retry itself, or by the sweep when it came first.
            Assert.Matches(@"(started on this replica; [1-9][0-9]* chat\(s\) deleted before|taken over from replica-a)", second.Output);
        }

        Assert.Empty(await UserDataProbe.RowsNamingAsync(database, mine.OwnIds, Ct));
        Assert.Empty(await UserDataProbe.RedisKeysNamingAsync(stack, [.. mine.OwnIds, .. mine.CharacterIds], Ct));
        Assert.Equal(theirRows, await UserDataProbe.RowsNamingAsync(database, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct));
        Assert.Equal(theirKeys, await UserDataProbe.RedisKeysNamingAsync(stack, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct));
    }

    private static async Task<long> CountAsync(SpannerDatabaseClient database, string sql, string user) =>
        (await database.QueryListAsync(new SpannerStatement(sql).Add("u", user)))[0].Get<long>(0);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _database.DisposeAsync();
}
