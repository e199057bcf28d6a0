using System.Text.Json.Nodes;
using ChatService.Api.V1;
using ChatService.Tests.Cards;
using Google.Protobuf;
using Grpc.Core;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;
using LoreLimits = ChatService.Chats.LoreLimits;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Lorebooks: books refused field by field, other users' books and chats, masks and versions, and the
/// book inside a card import; each refused book carries the marker in its name, and writes nothing.
/// </summary>
internal sealed partial class HostileCases
{
    private LoreEntry GoodEntry() => new() { Keys = { "dragon" }, Content = Marker() + " lore" };

    /// <summary>CreateLorebook with one field out of its bounds (INVALID_ARGUMENT), or another user's character (NOT_FOUND).</summary>
    private HostileCase BadLorebook()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var book = new Lorebook { Name = Marker(), Entries = { GoodEntry() } };
        var entry = book.Entries[0];
        var allowed = Invalid;
        switch (_random.Next(16))
        {
            case 0: book.Name = Garbage.Blank(_random); book.Description = Marker(); break;
            case 1: book.Name = Marker() + new string('n', LoreLimits.MaxNameChars); break;
            case 2: book.Name = Marker() + Pick("\n", "\0", "\u0085"); break;
            case 3: book.ScanDepth = Pick(-1, LoreLimits.MaxScanDepth + 1, int.MinValue, int.MaxValue); break;
            case 4: book.TokenBudget = Pick(-1, int.MinValue, LoreLimits.MaxTokenBudget + 1); break;
            case 5: book.Entries.Add(Enumerable.Range(0, LoreLimits.MaxEntries).Select(_ => GoodEntry())); break;
            case 6: entry.Keys.Clear(); entry.Keys.Add(Pick("/(unclosed/", "/[z-a]/", "/a{2,1}/", "/x/q", "/(?<n>a)\\k<m>/")); break;
            case 7: entry.UseRegex = true; entry.Keys.Clear(); entry.Keys.Add(Pick("(", "*x", "a)", "[")); break;
            case 8: entry.Keys.Add(Pick(Garbage.Blank(_random), new string('k', LoreLimits.MaxKeyChars + 1))); break;
            case 9: entry.Keys.Add(Enumerable.Range(0, LoreLimits.MaxKeysPerEntry).Select(i => $"k{i}")); break;
            case 10: entry.Content = Marker() + new string('c', LoreLimits.MaxContentChars); break;
            case 11: entry.EntryId = Pick("has space", "ü", new string('e', LoreLimits.MaxEntryIdChars + 1), "a/b"); break;
            case 12: book.Entries.Add(new LoreEntry(entry)); entry.EntryId = "same"; book.Entries[1].EntryId = "same"; break;
            case 13: entry.Position = (LorePosition)Pick(4, 99, -1); break;
            case 14: entry.Depth = Pick(-1, LoreLimits.MaxDepth + 1); entry.ScanDepth = Pick(0, -5, LoreLimits.MaxScanDepth + 1); break;
            default:
                book.CharacterId = Pick(victim.Private, victim.Public, victim.Unlisted, party.Gone, victim.Gone).CharacterId;
                allowed = NotFound;
                break;
        }

        if (_random.Next(8) == 0)
        {
            // Not empty: an empty character_id is a book of no character's, which is valid, and with only the
            // character wrong (the default case) the book would be a good one.
            book.CharacterId = Garbage.BadId(_random, allowEmpty: false);
            allowed = Invalid;
        }

        return Case(new CreateLorebookRequest { Lorebook = book }, "bad-lorebook", allowed, party.UserId);
    }

    /// <summary>Reads, updates, deletes, attaches and detaches refused; and the caller's own reads, which write nothing.</summary>
    private HostileCase BadLorebookChange()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var own = party.Lorebook;
        var foreignChat = Pick(victim.OneToOne, victim.Group).ChatId;
        UpdateLorebookRequest Update(string id, params string[] paths)
        {
            var book = own.Clone();
            book.LorebookId = id;
            book.Name = Marker();
            return new UpdateLorebookRequest { Lorebook = book, UpdateMask = new FieldMask { Paths = { paths } } };
        }

        var (request, generator, allowed) = _random.Next(20) switch
        {
            0 => ((IMessage)new GetLorebookRequest { LorebookId = Garbage.BadId(_random) }, "get-malformed-id", Invalid),
            1 => (new GetLorebookRequest { LorebookId = Pick(victim.Lorebook.LorebookId, Guid.NewGuid().ToString()) }, "get-foreign-or-unknown", NotFound),
            2 => (new DeleteLorebookRequest { LorebookId = Pick(victim.Lorebook.LorebookId, Guid.NewGuid().ToString()) }, "delete-foreign-or-unknown", NotFound),
            3 => (new DeleteLorebookRequest { LorebookId = Garbage.BadId(_random) }, "delete-malformed-id", Invalid),
            4 => (Update(victim.Lorebook.LorebookId, "name"), "update-foreign-book", NotFound),
            5 => (Update(own.LorebookId, Pick("lorebook_id", "version", "create_time", "update_time", "nope", "entries.keys", "")), "update-bad-mask", Invalid),
            6 => (WithVersion(Update(own.LorebookId, "name"), Pick(1_000L, long.MaxValue, 999L)), "update-stale-version", [StatusCode.Aborted]),
            7 => (WithBadEntry(Update(own.LorebookId, "entries")), "update-bad-entry", Invalid),
            8 => (new UpdateLorebookRequest { UpdateMask = new FieldMask { Paths = { "name" } } }, "update-no-book", Invalid),
            9 => (WithCharacter(Update(own.LorebookId, "character_id"), Pick(victim.Private, victim.Public, party.Gone).CharacterId), "update-foreign-character", NotFound),
            10 => (new AttachLorebookRequest { ChatId = foreignChat, LorebookId = Pick(own, victim.Lorebook).LorebookId }, "attach-foreign-chat", NotFound),
            11 => (new AttachLorebookRequest { ChatId = party.Group.ChatId, LorebookId = Pick(victim.Lorebook.LorebookId, Guid.NewGuid().ToString()) }, "attach-foreign-book", NotFound),
            12 => (new AttachLorebookRequest { ChatId = Pick(Garbage.BadId(_random), party.Group.ChatId), LorebookId = Garbage.BadId(_random) }, "attach-malformed-id", Invalid),
            13 => (new DetachLorebookRequest { ChatId = foreignChat, LorebookId = victim.Lorebook.LorebookId }, "detach-foreign-chat", NotFound),
            14 => (new DetachLorebookRequest { ChatId = Garbage.BadId(_random), LorebookId = own.LorebookId }, "detach-malformed-id", Invalid),
            15 => (new ListLorebooksRequest { ChatId = Pick(foreignChat, Guid.NewGuid().ToString()) }, "list-foreign-chat", NotFound),
            // Not empty: an empty chat_id lists all of the caller's books.
            16 => (new ListLorebooksRequest { ChatId = Garbage.BadId(_random, allowEmpty: false) }, "list-malformed-chat", Invalid),
            // Attaching what is attached, and detaching what is not, change nothing.
            17 => (new AttachLorebookRequest { ChatId = party.OneToOne.ChatId, LorebookId = own.LorebookId }, "attach-again", Ok),
            18 => (new DetachLorebookRequest { ChatId = party.Group.ChatId, LorebookId = own.LorebookId }, "detach-not-attached", Ok),
            _ => (Pick<IMessage>(new ListLorebooksRequest(), new ListLorebooksRequest { ChatId = party.OneToOne.ChatId }, new GetLorebookRequest { LorebookId = own.LorebookId }),
                "own-lorebook-reads", Ok),
        };
        return Case(request, generator, allowed, party.UserId);
    }

    private static UpdateLorebookRequest WithVersion(UpdateLorebookRequest request, long version)
    {
        request.Lorebook.Version = version;
        return request;
    }

    private static UpdateLorebookRequest WithCharacter(UpdateLorebookRequest request, string characterId)
    {
        request.Lorebook.CharacterId = characterId;
        return request;
    }

    private UpdateLorebookRequest WithBadEntry(UpdateLorebookRequest request)
    {
        request.Lorebook.Entries.Add(new LoreEntry { Keys = { Pick("/(/", " ", "/a/z") }, Content = Marker() });
        return request;
    }

    /// <summary>A card whose character_book the lorebook rules refuse: the card is refused (INVALID_ARGUMENT) and neither character nor book is written.</summary>
    private HostileCase BadCardBook()
    {
        var party = Caller();
        var card = MarkedCard(Pick(CardFixtures.V2, CardFixtures.V3));
        var book = new JsonObject { ["name"] = Marker() };
        var entry = new JsonObject { ["keys"] = new JsonArray("dragon"), ["content"] = Marker() };
        switch (_random.Next(8))
        {
            case 0: entry["keys"] = new JsonArray(Pick("/(unclosed/", "/[z-a]/", "/x/q")); break;
            case 1: entry["keys"] = Pick<JsonNode>("dragon", 7, new JsonArray(1)); break;
            case 2: entry["content"] = Marker() + new string('c', LoreLimits.MaxContentChars); break;
            case 3: entry[Pick("enabled", "constant", "selective", "case_sensitive")] = Pick<JsonNode>("yes", 1, new JsonArray()); break;
            case 4: entry["insertion_order"] = Pick<JsonNode>("first", true, new JsonObject()); break;
            case 5: entry["extensions"] = new JsonObject { ["position"] = 4, ["depth"] = Pick(-1, LoreLimits.MaxDepth + 1) }; break;
            case 6: book["scan_depth"] = Pick(0, -3, LoreLimits.MaxScanDepth + 1); break;
            default: book["name"] = Marker() + new string('n', LoreLimits.MaxNameChars); break;
        }

        book["entries"] = _random.Next(10) == 0
            ? new JsonArray([.. Enumerable.Range(0, LoreLimits.MaxEntries + 1).Select(_ => (JsonNode)new JsonObject { ["keys"] = new JsonArray("k"), ["content"] = "c" })])
            : new JsonArray(entry);
        card["data"]!["character_book"] = book;
        return Case(new ImportCharacterCardRequest { Json = card.ToJsonString() }, "card-bad-book", Invalid, party.UserId);
    }
}
