using ChatService.Api.V1;
using Google.Protobuf;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Renaming, archiving, listing by archive state, searching and deleting one's data, with requests that must be
/// refused (and write nothing), or that only read: UpdateChat titles and archive flags that are bad or aimed at
/// another user's chat, unknown archive filters and tokens of another listing, bad search queries, page sizes and
/// tokens, DeleteMyData without a valid request id (a valid one would delete the party's data: never drawn),
/// and the caller's own searches and deletion status, which never show another user's chats.
/// </summary>
internal sealed partial class HostileCases
{
    private HostileCase BadHousekeeping()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var chat = AnyChat(party);
        var theirs = victim.Chats.Select(c => c.ChatId).Concat(victim.Doomed).ToHashSet(StringComparer.Ordinal);
        UpdateChatRequest Update(string chatId, Action<Chat> set, params string[] paths)
        {
            var update = new Chat { ChatId = chatId, Title = Marker() };
            set(update);
            return new UpdateChatRequest { Chat = update, UpdateMask = new FieldMask { Paths = { paths } } };
        }

        string? NoForeignResults(object response) => response is SearchChatsResponse found && found.Results.FirstOrDefault(r => theirs.Contains(r.Chat.ChatId)) is { } foreign
            ? $"SearchChats found {victim.UserId}'s chat {foreign.Chat.ChatId}"
            : response is ListChatsResponse list && list.Chats.Any(c => theirs.Contains(c.ChatId)) ? $"ListChats listed {victim.UserId}'s chats" : null;

        var (request, generator, allowed, check) = _random.Next(13) switch
        {
            0 => ((IMessage)Update(chat.ChatId, c => c.Title = Pick("", " ", "\t", Marker() + "\n", Marker() + "\u0007", Marker() + new string('t', _random.Next(200, 5000)),
                Marker() + "\u202E", "\u2066" + Marker() + "\u2069", Marker() + "\u200F", "\u200B" + Marker(), Marker() + "\uFEFF", Marker() + "\u2028",
                Marker() + "\U000E0041", "\u200D", string.Concat(Enumerable.Repeat("\U0001F600", _random.Next(201, 400)))), "title"),
                "update-chat-bad-title", Invalid, (Func<object, string?>?)null),
            1 => (Update(AnyChat(victim).ChatId, c => c.Archived = Pick(true, false), Pick<string[]>(["archived"], ["title"], ["title", "archived"])),
                "update-chat-archive-foreign", NotFound, null),
            2 => (Update(chat.ChatId, c => c.Archived = true, "archived", Pick("archive_time", "archivedd", "Archived", "chat.archived", "title.x")),
                "update-chat-archive-bad-path", Invalid, null),
            3 => (Update(Garbage.BadId(_random), c => c.Archived = true, "archived", "title"), "update-chat-archive-bad-id", Invalid, null),
            4 => (new ListChatsRequest { ArchiveFilter = (ChatArchiveFilter)Pick(4, -1, 99, int.MaxValue) }, "list-chats-bad-filter", Invalid, null),
            5 => (new ListChatsRequest { PageToken = Pick(party.ListTokens.ToArray()), ArchiveFilter = Pick(ChatArchiveFilter.Archived, ChatArchiveFilter.All) },
                "list-chats-token-of-other-filter", Invalid, null),
            6 => (new SearchChatsRequest { Query = Pick("", " ", "--", "\"*\"", "()", new string('w', 201), string.Join(' ', Enumerable.Range(0, 9).Select(i => $"w{i}"))) },
                "search-chats-bad-query", Invalid, null),
            7 => (new SearchChatsRequest { Query = "seed", PageSize = Pick(-1, 51, int.MaxValue, int.MinValue) }, "search-chats-bad-page-size", Invalid, null),
            8 => (new SearchChatsRequest { Query = "seed", PageToken = Pick(Garbage.OddText(_random) + "x", Pick(party.ListTokens.ToArray()), Pick(chat.HistoryTokens.ToArray())) },
                "search-chats-bad-token", Invalid, null),
            9 => (new DeleteMyDataRequest { RequestId = Pick("", " ", "a b", "id/1", "ü", new string('x', 65), Marker() + "!") }, "delete-my-data-bad-request-id", Invalid, null),
            10 => (new GetDataDeletionRequest(), "get-data-deletion-none", NotFound, null),
            11 => (new SearchChatsRequest { Query = Pick("seed", "message", "hello world", "\"OR\" -x", "Seed AND message"), PageSize = _random.Next(0, 51) },
                "search-chats-own", Ok, NoForeignResults),
            _ => (new ListChatsRequest { ArchiveFilter = Pick(ChatArchiveFilter.Unspecified, ChatArchiveFilter.Active, ChatArchiveFilter.Archived, ChatArchiveFilter.All), PageSize = _random.Next(0, 101) },
                "list-chats-by-filter", Ok, NoForeignResults),
        };
        return Case(request, generator, allowed, party.UserId, check);
    }
}
