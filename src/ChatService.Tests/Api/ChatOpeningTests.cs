using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>How a chat opens: which greeting (greeting_index), its {{char}}/{{user}}, and the persona a chat is pinned to.</summary>
public sealed class ChatOpeningTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private async Task<Character> GreeterAsync(string user, string name, string greeting, params string[] alternates) =>
        await Fixture.Client(user).CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = name, Persona = $"{name} greets.", Greeting = greeting, AlternateGreetings = { alternates }, Visibility = Visibility.Public,
        }, cancellationToken: Ct);

    private async Task<Chat> OpenAsync(string user, int greetingIndex, string personaId, params Character[] cast) =>
        await Fixture.Client(user).CreateChatAsync(new CreateChatRequest
        {
            CharacterIds = { cast.Select(c => c.CharacterId) }, GreetingIndex = greetingIndex, PersonaId = personaId,
        }, cancellationToken: Ct);

    private async Task<List<string>> GreetingsAsync(string user, Chat chat) =>
        [.. (await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns.Reverse().Select(t => t.Text)];

    [Fact]
    public async Task GreetingIndex_PicksTheAlternateGreeting_WithItsPlaceholdersReplaced()
    {
        var user = TestUsers.New();
        var ruby = await GreeterAsync(user, "Ruby", "Ahoy, {{user}}!", "{{CHAR}} here. Who are you, {{User}}?", "Second alternate.");

        Assert.Equal(["Ahoy, User!"], await GreetingsAsync(user, await OpenAsync(user, 0, "", ruby)));
        Assert.Equal(["Ruby here. Who are you, User?"], await GreetingsAsync(user, await OpenAsync(user, 1, "", ruby)));
        Assert.Equal(["Second alternate."], await GreetingsAsync(user, await OpenAsync(user, 2, "", ruby)));
    }

    [Fact]
    public async Task GreetingIndex_PastAOneToOneCharactersGreetings_IsInvalidArgument_AndWritesNothing()
    {
        var user = TestUsers.New();
        var ruby = await GreeterAsync(user, "Ruby", "Ahoy!", "Alternate.");
        var before = await Fixture.SnapshotAsync();

        var past = await AssertStatusAsync(StatusCode.InvalidArgument, () => OpenAsync(user, 2, "", ruby));
        var negative = await AssertStatusAsync(StatusCode.InvalidArgument, () => OpenAsync(user, -1, "", ruby));
        var huge = await AssertStatusAsync(StatusCode.InvalidArgument, () => OpenAsync(user, int.MaxValue, "", ruby));

        Assert.All(new[] { past, negative, huge }, ex => Assert.Equal("greeting_index", FieldOf(ex)));
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task GreetingIndex_InAGroup_EachCharacterFallsBackToItsGreetingWhenItHasFewer()
    {
        var user = TestUsers.New();
        var ruby = await GreeterAsync(user, "Ruby", "Ruby's greeting.", "Ruby's first alternate.", "Ruby's second alternate.");
        var ada = await GreeterAsync(user, "Ada", "Ada's greeting.", "Ada's first alternate.");
        var quiet = await GreeterAsync(user, "Quiet", "");

        var chat = await OpenAsync(user, 2, "", ruby, ada, quiet);

        Assert.Equal(["Ruby's second alternate.", "Ada's greeting."], await GreetingsAsync(user, chat));
    }

    [Fact]
    public async Task UserInGreetings_IsThePersonaTheChatWillUse_PinnedOverrideOrDefault()
    {
        var user = TestUsers.New();
        var ruby = await GreeterAsync(user, "Ruby", "Ahoy, {{user}}!");
        var ada = await GreeterAsync(user, "Ada", "Hello, {{user}}.");
        var client = Fixture.Client(user);
        await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Quinn", IsDefault = true }, cancellationToken: Ct);
        await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Captain Q", CharacterIds = { ruby.CharacterId } }, cancellationToken: Ct);
        var pinned = await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Dr. Q" }, cancellationToken: Ct);

        var unpinned = await OpenAsync(user, 0, "", ruby, ada);
        var pinnedChat = await OpenAsync(user, 0, pinned.PersonaId, ruby, ada);

        Assert.Equal(["Ahoy, Captain Q!", "Hello, Quinn."], await GreetingsAsync(user, unpinned));
        Assert.Equal(["Ahoy, Dr. Q!", "Hello, Dr. Q."], await GreetingsAsync(user, pinnedChat));
        Assert.Equal("", unpinned.PersonaId);
        Assert.Equal(pinned.PersonaId, pinnedChat.PersonaId);
        var fetched = await client.GetChatAsync(new GetChatRequest { ChatId = pinnedChat.ChatId }, cancellationToken: Ct);
        Assert.Equal(pinned.PersonaId, fetched.PersonaId);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND PersonaId = @p", ("c", pinnedChat.ChatId), ("p", pinned.PersonaId)));
    }

    [Fact]
    public async Task AForkOfAPinnedChat_IsPinnedToTheSamePersona()
    {
        var user = TestUsers.New();
        var ruby = await GreeterAsync(user, "Ruby", "Ahoy!");
        var persona = await Fixture.Client(user).CreatePersonaAsync(new CreatePersonaRequest { Name = "Quinn" }, cancellationToken: Ct);
        var chat = await OpenAsync(user, 0, persona.PersonaId, ruby);

        var fork = await Fixture.Client(user).ForkChatAsync(new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, RequestId = "fork" }, cancellationToken: Ct);

        Assert.Equal(persona.PersonaId, fork.PersonaId);
    }

    [Fact]
    public async Task AGreetingStaysWithinTheMessageLimit_OnceItsPlaceholdersAreReplaced()
    {
        var user = TestUsers.New();
        var name = new string('N', 100);
        var greeting = string.Concat(Enumerable.Repeat("{{char}}", 8 * 1024 / 8));
        var loud = await GreeterAsync(user, name, greeting);

        var opened = Assert.Single(await GreetingsAsync(user, await OpenAsync(user, 0, "", loud)));

        Assert.Equal(8 * 1024, System.Text.Encoding.UTF8.GetByteCount(opened));
        Assert.Equal(string.Concat(Enumerable.Repeat(name, 82))[..(8 * 1024)], opened);
    }

    [Fact]
    public async Task AFork_StartsOnlyWithCharactersANewChatCouldHave()
    {
        var owner = TestUsers.New();
        var user = TestUsers.New();
        var gone = await GreeterAsync(owner, "Gone", "Hello.");
        var hidden = await GreeterAsync(owner, "Hidden", "Hello.");
        var goneChat = await OpenAsync(user, 0, "", gone);
        var hiddenChat = await OpenAsync(user, 0, "", hidden);
        var before = await Fixture.CountAsync("SELECT COUNT(*) FROM Chats");

        await Fixture.Client(owner).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = gone.CharacterId }, cancellationToken: Ct);
        await Fixture.Client(owner).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = hidden.CharacterId, Visibility = Visibility.Private },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "visibility" } },
        }, cancellationToken: Ct);

        foreach (var (chat, character) in new[] { (goneChat, gone), (hiddenChat, hidden) })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => Fixture.Client(user).ForkChatAsync(
                new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, RequestId = "fork-" + character.DisplayName }, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, refused.StatusCode);
            Assert.Contains(character.CharacterId, refused.Status.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(before, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats"));
    }

    [Fact]
    public async Task ACharacterDeletedOrMadePrivate_AfterCreateChatReadIt_IsCaughtByTheTransactionThatWritesTheChat()
    {
        var owner = TestUsers.New();
        var user = TestUsers.New();
        var gone = await GreeterAsync(owner, "Gone Meanwhile", "Hello.");
        var hidden = await GreeterAsync(owner, "Hidden Meanwhile", "Hello.");
        var staying = await GreeterAsync(owner, "Staying", "Hello.");
        var catalog = Fixture.Service<global::ChatService.Chats.CharacterCatalog>();
        var store = Fixture.Service<global::ChatService.Chats.IChatStore>();

        // CreateChat reads its cast, then writes the chat; here the owner's change lands in between.
        var read = await catalog.GetAllAsync(user, [staying.CharacterId, gone.CharacterId, hidden.CharacterId], Ct);
        await Fixture.Client(owner).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = gone.CharacterId }, cancellationToken: Ct);
        await Fixture.Client(owner).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = hidden.CharacterId, Visibility = Visibility.Private },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "visibility" } },
        }, cancellationToken: Ct);
        var before = await Fixture.CountAsync("SELECT COUNT(*) FROM Chats");

        foreach (var cast in new[] { read.Take(2).ToList(), [read[0], read[2]] })
        {
            var refused = await Assert.ThrowsAsync<global::ChatService.Chats.ChatException>(() =>
                store.CreateChatAsync(user, "Raced", cast, new global::ChatService.Chats.ChatOpening(null, [null, null]), Ct));
            Assert.Equal(global::ChatService.Chats.ChatErrorKind.NotFound, refused.Kind);
            Assert.Contains(cast[1].Id, refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats"));

        // Its owner may still start one with the private character (not with the deleted one).
        var own = await store.CreateChatAsync(owner, "Own", [read[0], read[2]], new global::ChatService.Chats.ChatOpening(null, [null, null]), Ct);
        Assert.Equal([staying.CharacterId, hidden.CharacterId], own.Chat.CharacterIds);
    }
}
