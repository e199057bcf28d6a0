using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Api;

public sealed class HistoryTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task GetHistory_NewestFirst_PagesThroughEveryTurnOnce()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        for (var i = 0; i < 12; i++)
        {
            await SendAsync(user, chat.ChatId, $"message {i}");
        }

        var seqs = new List<long>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 7, PageToken = token }, cancellationToken: Ct);
            seqs.AddRange(page.Turns.Select(t => t.Seq));
            token = page.NextPageToken;
            pages++;
        }
        while (token != "");

        Assert.Equal(Enumerable.Range(1, 25).Reverse().Select(i => (long)i), seqs);
        Assert.Equal(4, pages);
        var newest = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 2 }, cancellationToken: Ct);
        Assert.Equal((TurnState.Complete, AuthorRole.Character), (newest.Turns[0].State, newest.Turns[0].Role));
        Assert.Equal(("message 11", AuthorRole.User), (newest.Turns[1].Text, newest.Turns[1].Role));
    }

    [Fact]
    public async Task GetHistory_OtherUsersChat_IsNotFound()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        await AssertStatusAsync(StatusCode.NotFound, () =>
            Fixture.Client(TestUsers.New()).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
    }

    [Theory]
    [InlineData(101)]
    [InlineData(-1)]
    public async Task GetHistory_PageSizeOutOfRange_IsInvalidArgument(int pageSize)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user)
            .GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = pageSize }, cancellationToken: Ct).ResponseAsync);

        Assert.Contains("page_size", ex.Status.Detail);
    }

    [Fact]
    public async Task GetHistory_PageTokenFromAnotherChat_IsInvalidArgument()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var first = await CreateChatAsync(user, character);
        var second = await CreateChatAsync(user, character);
        await SendAsync(user, first.ChatId, "one");
        var page = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = first.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.NotEmpty(page.NextPageToken);

        await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user)
            .GetHistoryAsync(new GetHistoryRequest { ChatId = second.ChatId, PageToken = page.NextPageToken }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user)
            .GetHistoryAsync(new GetHistoryRequest { ChatId = first.ChatId, PageToken = "not-a-token" }, cancellationToken: Ct).ResponseAsync);
    }
}
