using ChatService.Cache;
using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Spanner;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>The reads that start a reply agree with each other, whatever commits while they run.</summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class ReplyContextSnapshotTests(SpannerEmulatorFixture emulator)
{
    private const string UserId = "user-1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LoadReplyContext_CommitBetweenItsReads_ReturnsTheStateBeforeTheCommit()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(ReplyContextSnapshotTests), SchemaScript.LoadAll().SelectMany(s => s.Statements).ToList());
        var options = Options.Create(new ChatOptions { ReplicaId = "replica-a" });
        await using var writer = SpannerDatabaseClient.Create(emulator.Options(databaseId));
        var gate = new CommitBeforeQuery();
        using var channel = GrpcChannel.ForAddress($"http://{emulator.EmulatorHost}");
        await using var reader = SpannerDatabaseClient.Create(emulator.Options(databaseId), channel.Intercept(gate));
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var writes = new SpannerGateway(writer);
        var reads = new SpannerGateway(reader);
        var characters = new CharacterStore(writes, memory);
        using var folder = new ChatCountFolder(writes, options, TimeProvider.System, NullLogger<ChatCountFolder>.Instance);
        var chats = new ChatStore(writes, new TurnCommits(writes, new NoChatChanges()), options, TimeProvider.System, folder);
        var ledger = new ReplyLedger(reads, new TurnCommits(reads, new NoChatChanges()), options, TimeProvider.System);

        var speaker = await characters.InsertAsync(
            new Character(Ids.New(), UserId, "Ada", "A persona.", Greeting: null, "default", CharacterVisibility.Private, default), card: null, Ct);
        var (chat, _) = await chats.CreateChatAsync(UserId, "A chat", [speaker], ChatOpening.OwnGreetings([speaker]), Ct);
        var receipt = await chats.RecordSendAsync(new UserMessage(UserId, chat.Id, "hello", Ids.New()), ReplyPolicy.ForUserTurn([], 1), Ct);
        var pending = Assert.Single(receipt.PendingReplies);
        var key = new ReplyKey(chat.Id, pending.Seq, pending.CandidateId!);

        // After the context's first read (the chat row), one commit touches what each later read looks at:
        // the reply's lease, the speaking character, and the message in the window.
        gate.Arm(queryNumber: 2, () => writer.WriteAsync(
        [
            SpannerMutation.Update("Candidates").Set("ChatId", key.ChatId).Set("Seq", key.Seq).Set("CandidateId", key.CandidateId).Set("LeaseOwner", "replica-b"),
            SpannerMutation.Update("Characters").Set("CharacterId", speaker.Id).Set("DisplayName", "Renamed"),
            SpannerMutation.Update("Turns").Set("ChatId", chat.Id).Set("Seq", receipt.UserTurn.Seq).Set("Text", "edited"),
        ], Ct));

        var context = await ledger.LoadReplyContextAsync(key, windowTurns: 10, Ct);

        Assert.True(gate.Fired, "the commit should have run between the context's reads");
        Assert.NotNull(context);
        Assert.True(context.IsOwedBy("replica-a"));
        Assert.Equal("Ada", context.Speaker.DisplayName);
        Assert.Equal("hello", Assert.Single(context.WindowOldestFirst).Text);

        // The commit did land: the next load sees all of it.
        var after = await ledger.LoadReplyContextAsync(key, windowTurns: 10, Ct);
        Assert.NotNull(after);
        Assert.False(after.IsOwedBy("replica-a"));
        Assert.Equal("Renamed", after.Speaker.DisplayName);
        Assert.Equal("edited", Assert.Single(after.WindowOldestFirst).Text);
    }

    [Fact]
    public async Task LoadReplyContext_ReadsTheSpeakersBook_AndTheChatsAttachedBooks_NoOthers()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(LoadReplyContext_ReadsTheSpeakersBook_AndTheChatsAttachedBooks_NoOthers), SchemaScript.LoadAll().SelectMany(s => s.Statements).ToList());
        var options = Options.Create(new ChatOptions { ReplicaId = "replica-a" });
        await using var client = SpannerDatabaseClient.Create(emulator.Options(databaseId));
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var spanner = new SpannerGateway(client);
        var characters = new CharacterStore(spanner, memory);
        var books = new LorebookStore(spanner, memory);
        using var folder = new ChatCountFolder(spanner, options, TimeProvider.System, NullLogger<ChatCountFolder>.Instance);
        var chats = new ChatStore(spanner, new TurnCommits(spanner, new NoChatChanges()), options, TimeProvider.System, folder);
        var ledger = new ReplyLedger(spanner, new TurnCommits(spanner, new NoChatChanges()), options, TimeProvider.System);

        Character New(string name) => new(Ids.New(), UserId, name, "A persona.", Greeting: null, "default", CharacterVisibility.Private, default);
        var speaker = await characters.InsertAsync(New("Ada"), card: null, Ct);
        var other = await characters.InsertAsync(New("Bob"), card: null, Ct);
        Lorebook Book(string name, string? characterId = null) => new(Ids.New(), UserId, name) { CharacterId = characterId, Entries = [new LoreEntry("e") { Constant = true, Content = name }] };
        var own = await books.CreateAsync(Book("Ada's", speaker.Id), Ct);
        await books.CreateAsync(Book("Bob's", other.Id), Ct);
        var attached = await books.CreateAsync(Book("World"), Ct);
        await books.CreateAsync(Book("Unused"), Ct);
        var (chat, _) = await chats.CreateChatAsync(UserId, "A chat", [speaker], ChatOpening.OwnGreetings([speaker]), Ct);
        await books.AttachAsync(UserId, chat.Id, attached.Id, Ct);
        var receipt = await chats.RecordSendAsync(new UserMessage(UserId, chat.Id, "hello", Ids.New()), ReplyPolicy.ForUserTurn([], 1), Ct);
        var pending = Assert.Single(receipt.PendingReplies);

        var context = await ledger.LoadReplyContextAsync(new ReplyKey(chat.Id, pending.Seq, pending.CandidateId!), windowTurns: 10, Ct);

        Assert.NotNull(context);
        Assert.Equal(new[] { attached.Id, own.Id }.Order(StringComparer.Ordinal), context.Lorebooks.Select(b => b.Id).Order(StringComparer.Ordinal));
        Assert.All(context.Lorebooks, b => Assert.Single(b.Entries));
        Assert.Equal(["Ada's", "World"], context.Lorebooks.Select(b => b.Name).Order(StringComparer.Ordinal));
    }
}
