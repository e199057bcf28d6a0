namespace ChatService.Chats;

public static partial class PageToken
{
    // Kinds of their own (well apart from the others'), so a token of one listing never pages another.
    private const byte ActiveChatListKind = 0x40;
    private const byte ArchivedChatListKind = 0x41;
    private const byte AllChatListKind = 0x42;
    private const byte ChatSearchKind = 0x43;

    /// <summary>
    /// A chat list of one archive state: the next page starts after this chat in (last active desc, chat id)
    /// order. The active list also reads the tokens ListChats issued before archiving existed (every chat was
    /// active then), so a client paging across the upgrade carries on.
    /// </summary>
    public static string ForChatList(string userId, ChatArchiveFilter filter, DateTimeOffset lastActiveTime, string chatId) =>
        // The active list still issues the earlier kind: replicas of the previous release, which read only that
        // one, keep paging it during a rolling upgrade (ActiveChatListKind is read, never issued, until a later
        // release, once no replica of the previous one is left).
        filter == ChatArchiveFilter.Active
            ? ForChatList(userId, lastActiveTime, chatId)
            : ForUserList(ListKind(filter), userId, lastActiveTime, chatId);

    public static bool TryReadChatList(string token, string userId, ChatArchiveFilter filter, out (DateTimeOffset LastActiveTime, string ChatId) after) =>
        TryReadUserList(ListKind(filter), token, userId, out after)
        || (filter == ChatArchiveFilter.Active && TryReadChatList(token, userId, out after));

    /// <summary>A search: the next page examines the user's chats after this one; bound to the user and to the query.</summary>
    public static string ForChatSearch(string userId, string query, DateTimeOffset lastActiveTime, string chatId)
    {
        var bytes = new byte[1 + 8 + 8 + 8 + 16];
        bytes[0] = ChatSearchKind;
        UserTag(userId).CopyTo(bytes.AsSpan(1, 8));
        TermTag(query).CopyTo(bytes.AsSpan(9, 8));
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(17), lastActiveTime.UtcTicks);
        Guid.Parse(chatId).TryWriteBytes(bytes.AsSpan(25, 16));
        return Base64Url(bytes);
    }

    public static bool TryReadChatSearch(string token, string userId, string query, out (DateTimeOffset LastActiveTime, string ChatId) after)
    {
        after = default;
        if (!TryDecode(token, out var bytes) || bytes.Length != 41 || bytes[0] != ChatSearchKind
            || !bytes.AsSpan(1, 8).SequenceEqual(UserTag(userId)) || !bytes.AsSpan(9, 8).SequenceEqual(TermTag(query)))
        {
            return false;
        }

        var ticks = System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(17));
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        after = (new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(bytes.AsSpan(25, 16)).ToString("D"));
        return true;
    }

    private static byte ListKind(ChatArchiveFilter filter) => filter switch
    {
        ChatArchiveFilter.Archived => ArchivedChatListKind,
        ChatArchiveFilter.All => AllChatListKind,
        _ => ActiveChatListKind,
    };
}
