using ChatService.Chats;

namespace ChatService.Tests.Chats;

public sealed class PageTokenTests
{
    private readonly string _chat = Ids.New();

    [Fact]
    public void History_RoundTrips_OnlyForTheSameChat()
    {
        var token = PageToken.ForHistory(_chat, 42);

        Assert.True(PageToken.TryReadHistory(token, _chat, out var before));
        Assert.Equal(42, before);
        Assert.False(PageToken.TryReadHistory(token, Ids.New(), out _));
    }

    [Fact]
    public void ChatList_RoundTrips_OnlyForTheSameUser()
    {
        var time = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).AddTicks(1234);
        var token = PageToken.ForChatList("alice", time, _chat);

        Assert.True(PageToken.TryReadChatList(token, "alice", out var after));
        Assert.Equal((time, _chat), after);
        Assert.False(PageToken.TryReadChatList(token, "bob", out _));
    }

    [Fact]
    public void CharacterList_RoundTrips_OnlyForTheSameUser_AndIsNoChatListToken()
    {
        var time = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).AddTicks(5678);
        var character = Ids.New();
        var token = PageToken.ForCharacterList("alice", time, character);

        Assert.True(PageToken.TryReadCharacterList(token, "alice", out var after));
        Assert.Equal((time, character), after);
        Assert.False(PageToken.TryReadCharacterList(token, "bob", out _));
        Assert.False(PageToken.TryReadChatList(token, "alice", out _));
        Assert.False(PageToken.TryReadCharacterList(PageToken.ForChatList("alice", time, character), "alice", out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("!!!")]
    [InlineData("AAAA")]
    [InlineData("not-a-token")]
    public void Garbage_IsRejected(string token)
    {
        Assert.False(PageToken.TryReadHistory(token, _chat, out _));
        Assert.False(PageToken.TryReadChatList(token, "alice", out _));
        Assert.False(PageToken.TryReadCharacterList(token, "alice", out _));
    }

    [Fact]
    public void HistoryToken_IsNotAChatListToken()
    {
        Assert.False(PageToken.TryReadChatList(PageToken.ForHistory(_chat, 5), "alice", out _));
    }
}
