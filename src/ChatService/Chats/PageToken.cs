using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ChatService.Chats;

/// <summary>
/// Opaque, URL-safe page tokens. Each is bound to what it pages (a chat, a user's chat list, or a
/// character listing with its order and query) so that a token used on another chat, another list
/// or by another user is rejected instead of silently paging something else.
/// </summary>
public static partial class PageToken
{
    private const byte HistoryKind = 1;
    private const byte ChatListKind = 2;
    /// <summary>
    /// The caller's own characters, newest first, without a query: the only character listing before the
    /// catalog, and still issued for it, so that replicas of either release page each other's tokens.
    /// </summary>
    private const byte OwnCharacterListKind = 3;
    private const byte CharacterListKind = 4;
    private const byte LorebookListKind = 5;

    /// <summary>A lorebook token's fixed part: kind, user tag, listing tag (the chat, or none), book id; the name follows.</summary>
    private const int LorebookListFixed = 1 + 8 + 8 + 16;

    /// <summary>The longest lorebook token: its fixed part and a name of the most characters, each up to three UTF-8 bytes, in base64url.</summary>
    private const int MaxLorebookTokenChars = ((LorebookListFixed + (LoreLimits.MaxNameChars * 3)) * 4 / 3) + 4;

    /// <summary>Kind, user tag, listing, order, term tag, sort key, character id.</summary>
    private const int CharacterListLength = 1 + 8 + 1 + 1 + 8 + 8 + 16;

    /// <summary>History: the next page holds turns with a smaller seq than <paramref name="beforeSeq"/>.</summary>
    public static string ForHistory(string chatId, long beforeSeq)
    {
        var bytes = new byte[1 + 16 + 8];
        bytes[0] = HistoryKind;
        Guid.Parse(chatId).TryWriteBytes(bytes.AsSpan(1, 16));
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(17), beforeSeq);
        return Base64Url(bytes);
    }

    public static bool TryReadHistory(string token, string chatId, out long beforeSeq)
    {
        beforeSeq = 0;
        if (!TryDecode(token, out var bytes) || bytes.Length != 25 || bytes[0] != HistoryKind
            || new Guid(bytes.AsSpan(1, 16)) != Guid.Parse(chatId))
        {
            return false;
        }

        beforeSeq = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(17));
        return beforeSeq > 0;
    }

    /// <summary>Chat list: the next page starts after this chat in (last active desc, chat id) order.</summary>
    public static string ForChatList(string userId, DateTimeOffset lastActiveTime, string chatId) =>
        ForUserList(ChatListKind, userId, lastActiveTime, chatId);

    public static bool TryReadChatList(string token, string userId, out (DateTimeOffset LastActiveTime, string ChatId) after) =>
        TryReadUserList(ChatListKind, token, userId, out after);

    /// <summary>
    /// A character listing: the next page starts after <paramref name="after"/> in the listing's order. The
    /// token is bound to the user and to the listing, order and query (the term it looks up), so it pages
    /// nothing else. The caller's own characters newest first without a query get the token of the release
    /// before the catalog (<see cref="OwnCharacterListKind"/>: the same cursor), which that release reads too.
    /// </summary>
    public static string ForCharacterList(string userId, CharacterList list, CharacterListCursor after)
    {
        if (list == CharacterList.OwnNewest)
        {
            return ForUserList(OwnCharacterListKind, userId, new DateTimeOffset(after.SortKey, TimeSpan.Zero), after.CharacterId);
        }

        var bytes = new byte[CharacterListLength];
        bytes[0] = CharacterListKind;
        UserTag(userId).CopyTo(bytes.AsSpan(1, 8));
        bytes[9] = (byte)list.Listing;
        bytes[10] = (byte)list.Order;
        TermTag(list.Term).CopyTo(bytes.AsSpan(11, 8));
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(19), after.SortKey);
        Guid.Parse(after.CharacterId).TryWriteBytes(bytes.AsSpan(27, 16));
        return Base64Url(bytes);
    }

    /// <summary>
    /// Reads a token of <see cref="ForCharacterList"/> for this user and listing. The caller's own characters,
    /// newest first and without a query, take the tokens of the release before the catalog (the ones issued
    /// for them), and the catalog's kind too (issued for them by a build in between).
    /// </summary>
    public static bool TryReadCharacterList(string token, string userId, CharacterList list, out CharacterListCursor after)
    {
        after = default;
        if (list == CharacterList.OwnNewest && TryReadUserList(OwnCharacterListKind, token, userId, out var own))
        {
            after = new CharacterListCursor(own.Time.UtcTicks, own.Id);
            return true;
        }

        if (!TryDecode(token, out var bytes) || bytes.Length != CharacterListLength || bytes[0] != CharacterListKind
            || !bytes.AsSpan(1, 8).SequenceEqual(UserTag(userId))
            || bytes[9] != (byte)list.Listing || bytes[10] != (byte)list.Order
            || !bytes.AsSpan(11, 8).SequenceEqual(TermTag(list.Term)))
        {
            return false;
        }

        var sortKey = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(19));
        if (list.Order == CharacterOrder.Newest && (sortKey < DateTimeOffset.MinValue.UtcTicks || sortKey > DateTimeOffset.MaxValue.UtcTicks))
        {
            return false;
        }

        after = new CharacterListCursor(sortKey, new Guid(bytes.AsSpan(27, 16)).ToString("D"));
        return true;
    }

    /// <summary>
    /// A lorebook listing (the user's books, or those <paramref name="chatId"/> uses): the next page starts after
    /// the book <paramref name="after"/> in (name, id) order. Bound to the user and the listing; it carries the
    /// name, so a book renamed or deleted meanwhile does not move the cursor.
    /// </summary>
    public static string ForLorebookList(string userId, string? chatId, (string Name, string LorebookId) after)
    {
        var name = Encoding.UTF8.GetBytes(after.Name);
        var bytes = new byte[LorebookListFixed + name.Length];
        bytes[0] = LorebookListKind;
        UserTag(userId).CopyTo(bytes.AsSpan(1, 8));
        TermTag(chatId ?? "").CopyTo(bytes.AsSpan(9, 8));
        Guid.Parse(after.LorebookId).TryWriteBytes(bytes.AsSpan(17, 16));
        name.CopyTo(bytes.AsSpan(LorebookListFixed));
        return Base64Url(bytes);
    }

    public static bool TryReadLorebookList(string token, string userId, string? chatId, out (string Name, string LorebookId) after)
    {
        after = default;
        if (!TryDecode(token, out var bytes, MaxLorebookTokenChars) || bytes.Length < LorebookListFixed || bytes[0] != LorebookListKind
            || !bytes.AsSpan(1, 8).SequenceEqual(UserTag(userId)) || !bytes.AsSpan(9, 8).SequenceEqual(TermTag(chatId ?? "")))
        {
            return false;
        }

        try
        {
            after = (new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.AsSpan(LorebookListFixed)), new Guid(bytes.AsSpan(17, 16)).ToString("D"));
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>A cursor into one of a user's lists ordered by a time, newest first, then by a UUID: the list's kind, the user's tag, the time, the id.</summary>
    private static string ForUserList(byte kind, string userId, DateTimeOffset time, string id)
    {
        var bytes = new byte[1 + 8 + 8 + 16];
        bytes[0] = kind;
        UserTag(userId).CopyTo(bytes.AsSpan(1, 8));
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(9), time.UtcTicks);
        Guid.Parse(id).TryWriteBytes(bytes.AsSpan(17, 16));
        return Base64Url(bytes);
    }

    private static bool TryReadUserList(byte kind, string token, string userId, out (DateTimeOffset Time, string Id) after)
    {
        after = default;
        if (!TryDecode(token, out var bytes) || bytes.Length != 33 || bytes[0] != kind
            || !bytes.AsSpan(1, 8).SequenceEqual(UserTag(userId)))
        {
            return false;
        }

        var ticks = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(9));
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        after = (new DateTimeOffset(ticks, TimeSpan.Zero), new Guid(bytes.AsSpan(17, 16)).ToString("D"));
        return true;
    }

    private static byte[] UserTag(string userId) => SHA256.HashData(Encoding.UTF8.GetBytes(userId))[..8];

    private static byte[] TermTag(string term) => SHA256.HashData(Encoding.UTF8.GetBytes(term))[..8];

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Reads a token as issued: base64url without padding (a token with '=' in it was not issued here, so one token has one spelling).</summary>
    private static bool TryDecode(string token, out byte[] bytes, int maxChars = 256)
    {
        bytes = [];
        if (token.Length == 0 || token.Length > maxChars || token.Contains('='))
        {
            return false;
        }

        var base64 = token.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        var buffer = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, buffer, out var written))
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}
