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
    public void CharacterList_RoundTrips_OnlyForTheSameUserListingOrderAndQuery_AndIsNoChatListToken()
    {
        var time = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).AddTicks(5678);
        var cursor = new CharacterListCursor(time.UtcTicks, Ids.New());
        var list = new CharacterList(CharacterListing.Public, CharacterOrder.Newest, "Ada");
        var token = PageToken.ForCharacterList("alice", list, cursor);

        Assert.True(PageToken.TryReadCharacterList(token, "alice", list, out var after));
        Assert.Equal(cursor, after);
        // The query is bound as it is looked up: the same term in other letters pages the same listing.
        Assert.True(PageToken.TryReadCharacterList(token, "alice", list with { Query = " ADA" }, out _));
        CharacterList[] others =
        [
            list with { Listing = CharacterListing.Own },
            list with { Order = CharacterOrder.MostUsed },
            list with { Query = "Adam" },
            list with { Query = null },
        ];
        Assert.All(others, other => Assert.False(PageToken.TryReadCharacterList(token, "alice", other, out _)));
        Assert.False(PageToken.TryReadCharacterList(token, "bob", list, out _));
        Assert.False(PageToken.TryReadChatList(token, "alice", out _));
        Assert.False(PageToken.TryReadCharacterList(PageToken.ForChatList("alice", time, cursor.CharacterId), "alice", CharacterList.OwnNewest, out _));
        // 43 bytes: base64 would pad it, but a padded spelling is not the token that was issued.
        Assert.DoesNotContain('=', token);
        Assert.False(PageToken.TryReadCharacterList(token + "=", "alice", list, out _));
    }

    [Fact]
    public void OwnNewest_IssuesTheTokenOfTheReleaseBeforeTheCatalog_BoundToUserAndListing()
    {
        var time = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).AddTicks(91);
        var cursor = new CharacterListCursor(time.UtcTicks, Ids.New());
        var token = PageToken.ForCharacterList("alice", CharacterList.OwnNewest, cursor);

        // Kind 3, 33 bytes: what the previous release issued and reads for the caller's own characters.
        Assert.Equal(3, Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/'))[0]);
        Assert.Equal(44, token.Length);
        Assert.True(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest, out var after));
        Assert.Equal(cursor, after);
        Assert.False(PageToken.TryReadCharacterList(token, "bob", CharacterList.OwnNewest, out _));
        Assert.False(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest with { Order = CharacterOrder.MostUsed }, out _));
        Assert.False(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest with { Query = "ada" }, out _));
    }

    [Fact]
    public void CharacterList_MostUsedCursor_KeepsAnyCount()
    {
        var list = new CharacterList(CharacterListing.Own, CharacterOrder.MostUsed, null);
        var cursor = new CharacterListCursor(long.MaxValue, Ids.New());

        Assert.True(PageToken.TryReadCharacterList(PageToken.ForCharacterList("alice", list, cursor), "alice", list, out var after));
        Assert.Equal(cursor, after);
    }

    [Fact]
    public void CharacterList_TokenOfTheReleaseBeforeTheCatalog_PagesTheOwnNewestListingOnly()
    {
        // Kind 3: the user's tag, the creation time in ticks, the character id; what ListCharacters issued before it had listings.
        var time = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
        var character = Ids.New();
        var bytes = new byte[33];
        bytes[0] = 3;
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("alice"))[..8].CopyTo(bytes, 1);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), time.UtcTicks);
        Guid.Parse(character).TryWriteBytes(bytes.AsSpan(17));
        var token = Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        Assert.True(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest, out var after));
        Assert.Equal(new CharacterListCursor(time.UtcTicks, character), after);
        Assert.False(PageToken.TryReadCharacterList(token, "bob", CharacterList.OwnNewest, out _));
        Assert.False(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest with { Listing = CharacterListing.Public }, out _));
        Assert.False(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest with { Query = "a" }, out _));
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
        Assert.False(PageToken.TryReadCharacterList(token, "alice", CharacterList.OwnNewest, out _));
    }

    [Fact]
    public void HistoryToken_IsNotAChatListToken()
    {
        Assert.False(PageToken.TryReadChatList(PageToken.ForHistory(_chat, 5), "alice", out _));
    }
}
