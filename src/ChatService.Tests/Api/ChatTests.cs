using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Api;

public sealed class ChatTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task CreateChat_OneToOne_RecordsGreetingTurn()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada", "Hello, I'm Ada.");

        var chat = await CreateChatAsync(user, ada);

        Assert.Equal([ada.CharacterId], chat.CharacterIds);
        Assert.Equal(1, chat.LastSeq);
        Assert.Equal("Ada", chat.Title);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var greeting = Assert.Single(history.Turns);
        Assert.Equal((1L, AuthorRole.Character, ada.CharacterId, "Hello, I'm Ada.", TurnState.Complete, 1),
            (greeting.Seq, greeting.Role, greeting.CharacterId, greeting.Text, greeting.State, greeting.CandidateCount));
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = 1 AND State = 3 AND Text = @text AND OwedShard IS NULL",
            ("c", chat.ChatId), ("text", "Hello, I'm Ada.")));
    }

    [Fact]
    public async Task CreateChat_Group_RecordsEachGreetingInCharacterOrder()
    {
        var user = TestUsers.New();
        var a = await CreateCharacterAsync(user, "A", "I am A.");
        var b = await CreateCharacterAsync(user, "B", "");
        var c = await CreateCharacterAsync(user, "C", "I am C.");

        var chat = await CreateChatAsync(user, a, b, c);

        Assert.Equal([a.CharacterId, b.CharacterId, c.CharacterId], chat.CharacterIds);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(["I am C.", "I am A."], history.Turns.Select(t => t.Text));
        Assert.Equal([2L, 1L], history.Turns.Select(t => t.Seq));
    }

    [Fact]
    public async Task CreateChat_WithAnotherUsersPrivateCharacter_IsNotFoundAndWritesNothing()
    {
        var stranger = await CreateCharacterAsync(TestUsers.New());
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.NotFound, () => CreateChatAsync(TestUsers.New(), stranger));

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task CreateChat_WithPublicCharacterOfAnotherUser_Succeeds()
    {
        var shared = await CreateCharacterAsync(TestUsers.New(), visibility: Visibility.Public);

        var chat = await CreateChatAsync(TestUsers.New(), shared);

        Assert.Equal(shared.CharacterId, Assert.Single(chat.CharacterIds));
    }

    [Fact]
    public async Task GetChat_OfAnotherUser_IsNotFound()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        Assert.Equal(chat.ChatId, (await Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).ChatId);
        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(TestUsers.New()).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task ListChats_MostRecentlyActiveFirst_AcrossPages()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var created = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            created.Add((await CreateChatAsync(user, character)).ChatId);
        }

        // Activity in the oldest chat moves it to the front.
        var reply = (await SendAsync(user, created[0], "bump"))[^1].Completed.Turn;
        var expected = new[] { created[0], created[4], created[3], created[2], created[1] };

        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await Fixture.Client(user).ListChatsAsync(new ListChatsRequest { PageSize = 2, PageToken = token }, cancellationToken: Ct);
            Assert.True(page.Chats.Count <= 2);
            seen.AddRange(page.Chats.Select(c => c.ChatId));
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal(expected, seen);
        var first = await Fixture.Client(user).ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct);
        Assert.Equal((2 + 1L, reply.Text[..Math.Min(20, reply.Text.Length)]), (first.Chats[0].LastSeq, first.Chats[0].LastMessagePreview[..Math.Min(20, reply.Text.Length)]));
    }

    [Fact]
    public async Task ListChats_PageTokenOfAnotherUser_IsInvalidArgument()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        await CreateChatAsync(user, character);
        await CreateChatAsync(user, character);
        var page = await Fixture.Client(user).ListChatsAsync(new ListChatsRequest { PageSize = 1 }, cancellationToken: Ct);
        Assert.NotEmpty(page.NextPageToken);

        await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(TestUsers.New())
            .ListChatsAsync(new ListChatsRequest { PageSize = 1, PageToken = page.NextPageToken }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task DeleteChat_RemovesChatTurnsAndCandidates()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, chat.ChatId, "hello");
        Assert.Equal(3, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", chat.ChatId)));

        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(TestUsers.New()).DeleteChatAsync(new DeleteChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await Fixture.Client(user).DeleteChatAsync(new DeleteChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c", ("c", chat.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", chat.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c", ("c", chat.ChatId)));
        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(user).DeleteChatAsync(new DeleteChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
    }
}
