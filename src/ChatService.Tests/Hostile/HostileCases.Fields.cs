using ChatService.Api.V1;
using ChatService.Chats;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>Field values: text, request ids, page sizes and tokens, enums, counts, lists; and legitimate repeats.</summary>
internal sealed partial class HostileCases
{
    private const int MaxMessageBytes = 8192;
    private const int MaxPersonaBytes = 32 * 1024;

    /// <summary>Past the service's 1 MiB receive limit: RESOURCE_EXHAUSTED before anything reads it.</summary>
    private const int BeyondReceiveLimit = 1024 * 1024 + 16;

    private HostileCase BadText()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var (text, allowed) = _random.Next(5) switch
        {
            0 or 1 => (Garbage.Blank(_random), Invalid),
            2 or 3 => (Garbage.Oversized(_random, MaxMessageBytes, Marker()), Invalid),
            _ => (Marker() + new string('x', BeyondReceiveLimit), Invalid),
        };
        var request = new SendMessageRequest { ChatId = chat.ChatId, Text = text, RequestId = Pick("", FreshRequestId()) };
        return _random.Next(6) == 0
            ? Case(new SendMessageRequest { ChatId = AnyChat(_world.Other(party)).ChatId, Text = Marker() + " " + Garbage.OddText(_random) },
                "odd-text-foreign-chat", NotFound, party.UserId)
            : Case(request, "bad-text", allowed, party.UserId);
    }

    private HostileCase BadRequestId()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var requestId = Garbage.BadRequestId(_random);
        IMessage request = _random.Next(3) switch
        {
            0 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker(), RequestId = requestId },
            1 => new RegenerateRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, RequestId = requestId },
            _ => new ContinueChatRequest { ChatId = party.Group.ChatId, Turns = _random.Next(1, 4), RequestId = requestId },
        };
        return Case(request, "bad-request-id", Invalid, party.UserId);
    }

    private HostileCase BadPageSize()
    {
        var party = Caller();
        var size = Pick(-1, int.MinValue, 101, 1000, int.MaxValue);
        IMessage request = _random.Next(3) switch
        {
            0 => new GetHistoryRequest { ChatId = AnyChat(party).ChatId, PageSize = size },
            1 => new ListChatsRequest { PageSize = size },
            _ => new ListCharactersRequest { PageSize = size },
        };
        return Case(request, "bad-page-size", Invalid, party.UserId);
    }

    /// <summary>GetHistory page tokens of another chat or user, of ListChats, tampered, forged or garbage.</summary>
    private HostileCase BadHistoryToken()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var own = Pick(chat.HistoryTokens.ToArray());
        var (token, generator, allowed) = _random.Next(10) switch
        {
            0 => (Pick(party.Chats.First(c => c != chat).HistoryTokens.ToArray()), "token-of-other-chat", Invalid),
            1 => (Pick(AnyChat(_world.Other(party)).HistoryTokens.ToArray()), "token-of-other-user", Invalid),
            2 => (Pick(party.ListTokens.ToArray()), "list-token-in-history", Invalid),
            3 => (Tamper(own), "tampered-token", new[] { StatusCode.InvalidArgument, StatusCode.OK }),
            4 => (own[..(own.Length / 2)], "truncated-token", Invalid),
            5 => (Pick("!!!", "====", "%00", "\0", own + "!", own + "%3D"), "garbage-token", Invalid),
            6 => (Convert.ToBase64String(Garbage.Bytes(_random, 1, 64)), "random-token", Invalid),
            7 => (new string('A', _random.Next(257, 100_000)), "huge-token", Invalid),
            8 => (PageToken.ForHistory(chat.ChatId, Pick(0L, -1L, long.MinValue)), "forged-token", Invalid),
            _ => (PageToken.ForHistory(chat.ChatId, Pick(long.MaxValue, int.MaxValue, 1L, 2L)), "forged-token-in-range", Ok),
        };
        return Case(new GetHistoryRequest { ChatId = chat.ChatId, PageToken = token, PageSize = _random.Next(0, 101) }, generator, allowed, party.UserId,
            check: r => r is GetHistoryResponse page && page.Turns.Any(t => t.ChatId != chat.ChatId)
                ? $"history of {chat.ChatId} returned turns of {page.Turns.First(t => t.ChatId != chat.ChatId).ChatId}"
                : null);
    }

    /// <summary>ListChats page tokens of another user, of GetHistory, tampered, forged or garbage; never another user's chats.</summary>
    private HostileCase BadListToken()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var own = Pick(party.ListTokens.ToArray());
        var (token, generator, allowed) = _random.Next(6) switch
        {
            0 => (Pick(victim.ListTokens.ToArray()), "token-of-other-user", Invalid),
            1 => (Pick(AnyChat(party).HistoryTokens.ToArray()), "history-token-in-list", Invalid),
            2 => (Tamper(own), "tampered-token", new[] { StatusCode.InvalidArgument, StatusCode.OK }),
            3 => (Pick("!!!", own[..(own.Length / 2)], new string('A', 300)), "garbage-token", Invalid),
            4 => (PageToken.ForChatList(victim.UserId, DateTimeOffset.UtcNow, victim.OneToOne.ChatId), "forged-token-of-other-user", Invalid),
            _ => (PageToken.ForChatList(party.UserId, Pick(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch), Guid.NewGuid().ToString()),
                "forged-token-extreme-time", Ok),
        };
        var theirs = victim.Chats.Select(c => c.ChatId).Concat(victim.Doomed).ToHashSet();
        return Case(new ListChatsRequest { PageToken = token, PageSize = _random.Next(0, 101) }, generator, allowed, party.UserId,
            check: r => r is ListChatsResponse list && list.Chats.Any(c => theirs.Contains(c.ChatId)) ? "ListChats returned another user's chat" : null);
    }

    /// <summary>ListCharacters page tokens of another user, of ListChats or GetHistory, tampered, forged or garbage; never another user's characters.</summary>
    private HostileCase BadCharacterListToken()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var own = Pick(party.CharacterListTokens.ToArray());
        var (token, generator, allowed) = _random.Next(7) switch
        {
            0 => (Pick(victim.CharacterListTokens.ToArray()), "token-of-other-user", Invalid),
            1 => (Pick(party.ListTokens.ToArray()), "chat-list-token-in-character-list", Invalid),
            2 => (Pick(AnyChat(party).HistoryTokens.ToArray()), "history-token-in-character-list", Invalid),
            3 => (Tamper(own), "tampered-token", new[] { StatusCode.InvalidArgument, StatusCode.OK }),
            4 => (Pick("!!!", own[..(own.Length / 2)], own + "=", new string('A', _random.Next(257, 100_000))), "garbage-token", Invalid),
            5 => (PageToken.ForCharacterList(victim.UserId, CharacterList.OwnNewest, new CharacterListCursor(DateTimeOffset.UtcNow.UtcTicks, victim.Public.CharacterId)),
                "forged-token-of-other-user", Invalid),
            _ => (PageToken.ForCharacterList(party.UserId, CharacterList.OwnNewest,
                    new CharacterListCursor(Pick(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch).UtcTicks, Guid.NewGuid().ToString())),
                "forged-token-extreme-time", Ok),
        };
        return Case(new ListCharactersRequest { PageToken = token, PageSize = _random.Next(0, 101) }, generator, allowed, party.UserId,
            check: NoCharactersOf(victim));
    }

    /// <summary>A ListCharacters answer must hold none of <paramref name="victim"/>'s characters, public ones included.</summary>
    private static Func<object, string?> NoCharactersOf(Party victim) =>
        r => r is ListCharactersResponse list && list.Characters.FirstOrDefault(c => victim.CharacterIds.Contains(c.CharacterId)) is { } theirs
            ? $"ListCharacters returned {victim.UserId}'s character {theirs.CharacterId}"
            : null;

    /// <summary>
    /// A ListCandidates answer for a seeded turn: every candidate seen while seeding is there (writes
    /// only add candidates), none twice, oldest first, exactly one of them primary.
    /// </summary>
    private static Func<object, string?> CandidatesOf(SeededChat chat, long seq) => r =>
    {
        var candidates = ((ListCandidatesResponse)r).Candidates;
        var ids = candidates.Select(c => c.CandidateId).ToList();
        return chat.Candidates[seq].FirstOrDefault(id => !ids.Contains(id)) is { } missing ? $"candidate {missing} of turn {seq} was not listed"
            : ids.Distinct().Count() != ids.Count ? $"turn {seq} listed a candidate twice"
            : candidates.Zip(candidates.Skip(1)).Any(p => p.First.CreateTime > p.Second.CreateTime) ? $"turn {seq}'s candidates were not oldest first"
            : candidates.Count(c => c.Primary) != 1 ? $"turn {seq} listed {candidates.Count(c => c.Primary)} primary candidates"
            : null;
    };

    private HostileCase BadVisibility()
    {
        var party = Caller();
        var request = new CreateCharacterRequest
        {
            DisplayName = Marker(),
            Persona = "A persona.",
            Visibility = (Visibility)Pick(4, 99, -1, int.MaxValue, int.MinValue),
        };
        return Case(request, "bad-visibility", Invalid, party.UserId);
    }

    private HostileCase BadContinueTurns()
    {
        var party = Caller();
        return _random.Next(3) == 0
            ? Case(new ContinueChatRequest { ChatId = party.OneToOne.ChatId, Turns = _random.Next(1, 4), RequestId = FreshRequestId() },
                "continue-one-to-one", [StatusCode.FailedPrecondition], party.UserId)
            : Case(new ContinueChatRequest { ChatId = party.Group.ChatId, Turns = Pick(0, -1, 11, int.MaxValue, int.MinValue), RequestId = FreshRequestId() },
                "bad-continue-turns", Invalid, party.UserId);
    }

    /// <summary>Named speakers that are malformed, repeated, not in the chat, too many or far too many.</summary>
    private HostileCase BadReplyCharacters()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var member = Pick(chat.CharacterIds.ToArray());
        string[] names = _random.Next(6) switch
        {
            0 => [Garbage.BadId(_random)],
            1 => [member, member],
            2 => [_world.Other(party).Public.CharacterId],
            3 => [.. chat.CharacterIds, .. Enumerable.Range(0, 9).Select(_ => Guid.NewGuid().ToString())],
            4 => Enumerable.Range(0, _random.Next(9, 20_000)).Select(_ => Guid.NewGuid().ToString()).ToArray(),
            _ => chat.IsGroup ? [Guid.NewGuid().ToString()] : [party.Quiet.CharacterId],
        };
        var request = new SendMessageRequest { ChatId = chat.ChatId, Text = Marker(), ReplyCharacterIds = { names } };
        return Case(request, "bad-reply-characters", Invalid, party.UserId);
    }

    /// <summary>CreateChat with no, too many, repeated, hidden or unknown characters, or a bad title.</summary>
    private HostileCase BadChatCast()
    {
        var party = Caller();
        var own = party.Private.CharacterId;
        var title = Marker();
        string[] cast = _random.Next(7) switch
        {
            0 => [],
            1 => Enumerable.Range(0, 9).Select(_ => own).ToArray(),
            2 => [own, own],
            3 => [_world.Other(party).Quiet.CharacterId],
            4 => [Guid.NewGuid().ToString()],
            5 => [Garbage.BadId(_random)],
            _ => [own],
        };
        if (cast is [_] && cast[0] == own)
        {
            title = Pick(title + new string('t', 200), title + "\u0007", title + "\0", title + "\u0085", title + "\r\n");
        }

        return Case(new CreateChatRequest { CharacterIds = { cast }, Title = title }, "bad-chat-cast", [StatusCode.InvalidArgument, StatusCode.NotFound], party.UserId);
    }

    /// <summary>CreateCharacter with each field blank, oversized or malformed in turn.</summary>
    private HostileCase BadCharacter()
    {
        var party = Caller();
        var request = new CreateCharacterRequest { DisplayName = Marker(), Persona = Marker() + " persona", Greeting = "hi" };
        switch (_random.Next(9))
        {
            case 0: request.DisplayName = Garbage.Blank(_random); break;
            case 1: request.DisplayName = Marker() + new string('n', 101); break;
            case 2: request.Persona = Garbage.Blank(_random); break;
            case 3: request.Persona = Garbage.Oversized(_random, MaxPersonaBytes, Marker()); break;
            case 4: request.Persona = Marker() + new string('p', BeyondReceiveLimit); break;
            case 5: request.Greeting = Garbage.Oversized(_random, MaxMessageBytes, Marker()); break;
            case 6: request.ModelRoute = Pick("UPPER", "no-such-route", new string('r', 65), "a b", "é", "../default"); break;
            case 7: request.ModelRoute = "default\0"; break;
            default: request.DisplayName = Marker() + new string('n', 95) + "😀😀😀"; break;
        }

        return Case(request, "bad-character", Invalid, party.UserId);
    }

    /// <summary>
    /// A request id used before, with different content: reported as a duplicate, attached to
    /// what the first request recorded, and nothing new written.
    /// </summary>
    private HostileCase RepeatedRequestId()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var cancelAfter = _random.Next(3) == 0 ? _random.Next(0, 4) : (int?)null;
        switch (_random.Next(3))
        {
            case 0:
                var (requestId, text) = Pick(chat.Sends.ToArray());
                var member = Pick(chat.CharacterIds.ToArray());
                return Case(new SendMessageRequest { ChatId = chat.ChatId, Text = Marker() + " different", RequestId = requestId, ReplyCharacterIds = { member } },
                    "repeated-request-id", Ok, party.UserId, cancelAfter: cancelAfter, check: events =>
                    {
                        var accepted = ((IReadOnlyList<ReplyEvent>)events)[0].Accepted;
                        return accepted.Duplicate && accepted.UserTurn.Text == text ? null : $"a repeated send was not a duplicate of '{text}': {accepted}";
                    });
            case 1:
                return Case(new RegenerateRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, RequestId = chat.OwedRequests[0] },
                    "repeated-request-id", Ok, party.UserId, cancelAfter: cancelAfter, check: DuplicateAccepted);
            default:
                return Case(new ContinueChatRequest { ChatId = party.Group.ChatId, Turns = _random.Next(1, 11), RequestId = party.Group.OwedRequests[0] },
                    "repeated-request-id", Ok, party.UserId, cancelAfter: cancelAfter, check: DuplicateAccepted);
        }
    }

    private static string? DuplicateAccepted(object events) =>
        ((IReadOnlyList<ReplyEvent>)events)[0].Accepted.Duplicate ? null : "a repeated request id was not reported as a duplicate";

    private HostileCase BadAfterSequence()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var after = Pick(-1, long.MinValue, (1L << 53) + 1, long.MaxValue, int.MaxValue);
        return Case(new StreamReplyRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, AfterSequence = after }, "bad-after-sequence",
            after == int.MaxValue ? Ok : Invalid, party.UserId);
    }

    /// <summary>Cancelling a reply that is already settled changes nothing and returns it as stored.</summary>
    private HostileCase CancelSettledReply()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var turn = chat.CharacterTurn(_random);
        var candidate = Pick("", turn.CandidateId, Pick(chat.Candidates[turn.Seq].ToArray()));
        return Case(new CancelReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = candidate }, "cancel-settled-reply", Ok, party.UserId,
            check: r => r is Turn { State: TurnState.Complete or TurnState.Failed or TurnState.Cancelled } t && t.Seq == turn.Seq ? null : $"cancel of a settled reply returned {r}");
    }

    /// <summary>Legitimate reads with a deadline of a few milliseconds.</summary>
    private HostileCase ReadWithDeadline()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var turn = chat.CharacterTurn(_random);
        IMessage request = _random.Next(8) switch
        {
            0 => new GetChatRequest { ChatId = chat.ChatId },
            1 => new GetHistoryRequest { ChatId = chat.ChatId, PageToken = Pick(chat.HistoryTokens.ToArray()) },
            2 => new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 100 },
            3 => new ListChatsRequest { PageToken = Pick(party.ListTokens.ToArray()) },
            4 => new GetCharacterRequest { CharacterId = Pick(party.Private, _world.Other(party).Public).CharacterId },
            5 => new ListCharactersRequest { PageToken = Pick([.. party.CharacterListTokens, ""]), PageSize = 100 },
            6 => new ListCandidatesRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            _ => new StreamReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq },
        };
        return Case(request, "read-deadline", Ok, party.UserId, deadlineMs: _random.Next(1, 6));
    }

    /// <summary>The caller's own lists: ListCharacters shows none of the other user's characters, ListCandidates every candidate of a seeded turn.</summary>
    private HostileCase OwnLists()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var turn = chat.CharacterTurn(_random);
        return _random.Next(2) == 0
            ? Case(new ListCharactersRequest { PageToken = Pick([.. party.CharacterListTokens, ""]), PageSize = _random.Next(0, 101) }, "own-characters", Ok,
                party.UserId, check: NoCharactersOf(_world.Other(party)))
            : Case(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = turn.Seq }, "own-candidates", Ok, party.UserId, check: CandidatesOf(chat, turn.Seq));
    }

    /// <summary>Resuming a stored reply and hanging up after a few events.</summary>
    private HostileCase ReadStreamCancelled()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var request = new StreamReplyRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, AfterSequence = _random.Next(0, 5) };
        return Case(request, "stream-cancelled", Ok, party.UserId, cancelAfter: _random.Next(0, 4), deadlineMs: null);
    }

    /// <summary>A page token with one character changed.</summary>
    private string Tamper(string token)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var chars = token.ToCharArray();
        var at = _random.Next(chars.Length);
        chars[at] = alphabet[(alphabet.IndexOf(chars[at]) + 1 + _random.Next(alphabet.Length - 1)) % alphabet.Length];
        return new string(chars);
    }
}
