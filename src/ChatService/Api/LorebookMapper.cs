using ChatService.Chats;
using Google.Protobuf.WellKnownTypes;

namespace ChatService.Api;

/// <summary>Lorebooks as the public API's messages.</summary>
internal static class LorebookMapper
{
    public static V1.Lorebook ToProto(this Lorebook book) => new()
    {
        LorebookId = book.Id,
        Name = book.Name,
        Description = book.Description,
        CharacterId = book.CharacterId ?? "",
        ScanDepth = book.ScanDepth,
        TokenBudget = book.TokenBudget,
        Entries = { book.Entries.Select(ToProto) },
        Version = book.Version,
        CreateTime = Timestamp.FromDateTimeOffset(book.CreateTime),
        UpdateTime = Timestamp.FromDateTimeOffset(book.UpdateTime),
    };

    private static V1.LoreEntry ToProto(LoreEntry e) => new()
    {
        EntryId = e.Id,
        Comment = e.Comment,
        Keys = { e.Keys },
        SecondaryKeys = { e.SecondaryKeys },
        Selective = e.Selective,
        UseRegex = e.UseRegex,
        CaseSensitive = e.CaseSensitive,
        MatchAnywhere = !e.MatchWholeWords,
        Content = e.Content,
        Constant = e.Constant,
        Disabled = !e.Enabled,
        Position = (V1.LorePosition)(int)e.Position,
        Order = e.Order,
        Depth = e.Depth,
        ScanDepth = e.ScanDepth ?? 0,
    };

    public static V1.ChatLorebooks ToProto(string chatId, IReadOnlyList<string> lorebookIds) => new() { ChatId = chatId, LorebookIds = { lorebookIds } };
}
