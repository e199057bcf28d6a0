using System.Text;
using ChatService.Api.V1;
using ChatService.Memory;
using ChatService.Portability;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using StackExchange.Redis;

namespace ChatService.Tests.Privacy;

/// <summary>
/// DeleteMyData on the real stack: a user with 1,000 chats and one of everything else (a continued reply, a
/// held summary lease, an import interrupted halfway with its chat owned by nobody yet) loses every row (every
/// string column of every table searched for their ids) and every Redis key (a SCAN of each primary, and the
/// set of held summary leases), their characters are scrubbed, another user's data is exactly as it was, and
/// a repeat is idempotent.
/// </summary>
public sealed class DataDeletionTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private const int SeededChats = 1000;

    [Fact]
    public async Task DeleteMyData_OfAUserWith1000Chats_LeavesNoRowNoKeyAndTouchesNoOneElse()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var client = Fixture.Client(user);
        var mine = await UserData.CreateAsync(client, user, Ct);
        var theirs = await UserData.CreateAsync(Fixture.Client(other), other, Ct);
        // The other user talks to the deleter's public character: that chat is the other user's and stays.
        var shared = await Fixture.Client(other).CreateChatAsync(new CreateChatRequest { CharacterIds = { mine.Public.CharacterId } }, cancellationToken: Ct);
        theirs.ChatIds.Add(shared.ChatId);
        await UserData.SendAsync(Fixture.Client(other), shared.ChatId, "Hello Ada", "s1", Ct);

        mine.ChatIds.AddRange(await UserDataProbe.SeedChatsAsync(Fixture.Database, user, mine.Private.CharacterId, SeededChats, Ct));
        // Some of them cached (their windows in Redis), as chats a user opened.
        foreach (var chatId in mine.ChatIds.Skip(1).Take(10))
        {
            await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        }

        // An import stopped after its first batch: its ChatImports row, and its chat with 1,000 turns, owned by nobody yet.
        var import = await Fixture.Service<ChatPortability>().ImportAsync(
            new ChatImportRequest(user, "half-import", ChatFileFormat.Lossless, Encoding.UTF8.GetBytes(ImportFile(mine.Public.CharacterId, ImportTurns)),
                [mine.Public.CharacterId], new Dictionary<string, string>(), null),
            Ct, stopAfterBatches: 1);
        Assert.False(import.Done);
        mine.ChatIds.Add(import.ChatId);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND UserId = ''", ("c", import.ChatId)));
        Assert.True(await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", import.ChatId)) > 0);

        // A summary job under way on their chat: its lease key and its member in the set of held leases.
        // (Its attempt counter, chat:{id}:summary:n, comes with it and must go too.)
        var (lease, _) = await Fixture.Service<SummaryLeases>().TryAcquireAsync(mine.Chat.ChatId, 2, "test-replica", TimeSpan.FromMinutes(10), 5, TimeSpan.FromHours(1), TimeSpan.FromMinutes(30));
        Assert.True(lease is { InRedis: true });
        Assert.Contains($"{mine.Chat.ChatId}|2", await LeaseMembersAsync());

        Assert.NotEmpty(await UserDataProbe.RowsNamingAsync(Fixture.Database, mine.OwnIds, Ct));
        var myKeys = await UserDataProbe.RedisKeysNamingAsync(Fixture.Stack, [.. mine.OwnIds, .. mine.CharacterIds], Ct);
        Assert.Contains(myKeys, k => k.Contains(":c1 ", StringComparison.Ordinal)); // the continuation's reply log
        Assert.Contains(myKeys, k => k.Contains(":summary ", StringComparison.Ordinal));
        var theirRows = await UserDataProbe.RowsNamingAsync(Fixture.Database, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct);
        var theirKeys = await UserDataProbe.RedisKeysNamingAsync(Fixture.Stack, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct);
        var theirHistory = await Fixture.Client(other).GetHistoryAsync(new GetHistoryRequest { ChatId = theirs.Chat.ChatId }, cancellationToken: Ct);

        await AssertStatusAsync(StatusCode.NotFound, async () => await client.GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct));
        var deletion = await client.DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "delete-1" }, cancellationToken: Ct);

        Assert.Equal(DataDeletionState.Done, deletion.State);
        Assert.Equal("delete-1", deletion.RequestId);
        Assert.Equal(SeededChats + 2, deletion.ChatsDeleted); // with the import's half-written chat
        Assert.Equal(2, deletion.CharactersDeleted);
        Assert.Equal(2, deletion.LorebooksDeleted);
        Assert.Equal(2, deletion.PersonasDeleted); // the persona and its override
        Assert.NotNull(deletion.FinishTime);

        Assert.Empty(await UserDataProbe.RowsNamingAsync(Fixture.Database, mine.OwnIds, Ct));
        Assert.Empty(await UserDataProbe.RedisKeysNamingAsync(Fixture.Stack, [.. mine.OwnIds, .. mine.CharacterIds], Ct));
        Assert.DoesNotContain(await LeaseMembersAsync(), m => mine.ChatIds.Any(id => m.StartsWith(id + "|", StringComparison.Ordinal)));
        // The characters stay for the chats others have with them, with nothing of their author's but the name.
        Assert.Equal(2, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM Characters WHERE CharacterId IN UNNEST(@ids) AND OwnerUserId = '' AND Persona = '' AND Greeting IS NULL " +
            "AND Description IS NULL AND Tags IS NULL AND CardExtras IS NULL AND DeleteTime IS NOT NULL", ("ids", mine.CharacterIds.ToList())));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId IN UNNEST(@ids)", ("ids", mine.CharacterIds.ToList())));

        // The other user's data is exactly as it was, and their chat with the scrubbed character still reads.
        Assert.Equal(theirRows, await UserDataProbe.RowsNamingAsync(Fixture.Database, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct));
        Assert.Equal(theirKeys, await UserDataProbe.RedisKeysNamingAsync(Fixture.Stack, [.. theirs.OwnIds, .. theirs.CharacterIds], Ct));
        Assert.Equal(theirHistory, await Fixture.Client(other).GetHistoryAsync(new GetHistoryRequest { ChatId = theirs.Chat.ChatId }, cancellationToken: Ct));
        var sharedNow = await Fixture.Client(other).GetHistoryAsync(new GetHistoryRequest { ChatId = shared.ChatId }, cancellationToken: Ct);
        Assert.Equal(3, sharedNow.Turns.Count);
        var scrubbed = await Fixture.Client(other).GetCharacterAsync(new GetCharacterRequest { CharacterId = mine.Public.CharacterId }, cancellationToken: Ct);
        Assert.Equal(("Ada", "", ""), (scrubbed.DisplayName, scrubbed.Persona, scrubbed.Description));
        Assert.NotNull(scrubbed.DeleteTime);

        // The deleter's account reads empty.
        Assert.Empty((await client.ListChatsAsync(new ListChatsRequest { ArchiveFilter = ChatArchiveFilter.All }, cancellationToken: Ct)).Chats);
        Assert.Empty((await client.ListCharactersAsync(new ListCharactersRequest(), cancellationToken: Ct)).Characters);
        Assert.Empty((await client.ListPersonasAsync(new ListPersonasRequest(), cancellationToken: Ct)).Personas);
        Assert.Empty((await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks);
    }

    [Fact]
    public async Task TheSweep_DeletesOwnerlessChatsPastTheirRecordsRetention_ImportsAndForksAlike_AndNoOtherChat()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var old = DateTimeOffset.UtcNow - TimeSpan.FromDays(7) - TimeSpan.FromHours(2);
        var recent = DateTimeOffset.UtcNow - TimeSpan.FromDays(6);
        var chat = await CreateChatAsync(user, character);
        var gone = await CreateChatAsync(user, character);
        // Past the records' retention (7 days and an hour): an abandoned import, a fork of a chat that is still there
        // never retried (its record expired), and a fork of a chat deleted before DeleteChat took such forks along.
        var abandoned = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, at: old);
        var expiredFork = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: chat.ChatId, at: old);
        var orphanedFork = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: gone.ChatId, at: old);
        // Within it: an import and forks a retry could still finish (or, source gone, a later sweep deletes).
        var importing = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, at: recent);
        var forking = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: chat.ChatId, at: recent);
        var recentOrphan = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: gone.ChatId, at: recent);
        await Fixture.Database.WriteAsync([SpannerMutation.Delete("Chats", SpannerKey.Of(gone.ChatId))], Ct);

        var sweeper = Fixture.Service<global::ChatService.Privacy.DataDeletionSweeper>();
        await sweeper.SweepAbandonedChatsOnceAsync(Ct); // (or the background sweep got there first)

        var swept = new List<string> { abandoned, expiredFork, orphanedFork };
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId IN UNNEST(@ids)", ("ids", swept)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId IN UNNEST(@ids)", ("ids", swept)));
        Assert.Equal(3, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId IN UNNEST(@ids) AND UserId = ''", ("ids", new List<string> { importing, forking, recentOrphan })));
        Assert.Equal(chat.ChatId, (await Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).ChatId);
    }

    [Fact]
    public async Task DeleteMyData_IsIdempotentOnItsRequestId_AndANewRequestDeletesWhatCameSince()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);

        var first = await client.DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "d1" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Done, 1L, 1L), (first.State, first.ChatsDeleted, first.CharactersDeleted));

        // Made after the deletion: a repeat of d1 leaves it alone.
        var later = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Cy", Persona = "New." }, cancellationToken: Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { later.CharacterId } }, cancellationToken: Ct);
        var repeat = await client.DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "d1" }, cancellationToken: Ct);
        Assert.Equal(first, repeat);
        Assert.Equal(chat.ChatId, (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).ChatId);
        Assert.Equal(first, await client.GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct));

        var second = await client.DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = "d2" }, cancellationToken: Ct);
        Assert.Equal((DataDeletionState.Done, "d2", 1L, 1L), (second.State, second.RequestId, second.ChatsDeleted, second.CharactersDeleted));
        await AssertStatusAsync(StatusCode.NotFound, async () => await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct));
    }

    [Fact]
    public async Task DeleteMyData_WithoutAValidRequestId_IsRefusedAndDeletesNothing()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        foreach (var requestId in new[] { "", "has space", new string('x', 65), "ü" })
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
                async () => await Fixture.Client(user).DeleteMyDataAsync(new DeleteMyDataRequest { RequestId = requestId }, cancellationToken: Ct));
            Assert.Equal("request_id", FieldOf(ex));
        }

        Assert.Equal(chat.ChatId, (await Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).ChatId);
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(user).GetDataDeletionAsync(new GetDataDeletionRequest(), cancellationToken: Ct));
    }

    private const int ImportTurns = 1010;

    /// <summary>Members of the sorted sets of held summary leases (every shard).</summary>
    private async Task<IReadOnlyList<string>> LeaseMembersAsync()
    {
        var shards = Fixture.Service<Microsoft.Extensions.Options.IOptions<SummaryOptions>>().Value.LeaseShards;
        var database = Fixture.Service<IConnectionMultiplexer>().GetDatabase();
        var members = new List<string>();
        for (var shard = 0; shard < shards; shard++)
        {
            members.AddRange((await database.SortedSetRangeByRankAsync(SummaryLeases.ListKeyOf(shard))).Select(m => m.ToString()));
        }

        return members;
    }

    /// <summary>A lossless chat file of <paramref name="turns"/> turns: odd ones the user's, even ones the character's.</summary>
    private static string ImportFile(string characterId, int turns)
    {
        var file = new StringBuilder();
        file.Append($$$"""{"format":"chatservice.chat","version":1,"chat":{"title":"Imported","characters":[{"character_id":"{{{characterId}}}","name":"Ada"}]}}""").Append('\n');
        for (var seq = 1; seq <= turns; seq++)
        {
            file.Append(seq % 2 == 1
                ? $$$"""{"seq":{{{seq}}},"role":"user","create_time":"2025-01-01T00:00:00Z","text":"turn {{{seq}}}"}"""
                : $$$"""{"seq":{{{seq}}},"role":"character","create_time":"2025-01-01T00:00:01Z","reply_to_seq":{{{seq - 1}}},"character_id":"{{{characterId}}}","primary":0,"candidates":[{"state":"complete","text":"turn {{{seq}}}","create_time":"2025-01-01T00:00:01Z"}]}""");
            file.Append('\n');
        }

        return file.ToString();
    }
}
