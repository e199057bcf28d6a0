using ChatService.Api.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>Ids: malformed, unknown, another user's, another turn's; turn numbers out of range.</summary>
internal sealed partial class HostileCases
{
    /// <summary>Any id field that is not a canonical lowercase UUID: INVALID_ARGUMENT, before any lookup.</summary>
    private HostileCase MalformedId()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var seq = chat.CharacterTurn(_random).Seq;
        var bad = Garbage.BadId(_random);
        var badOptional = Garbage.BadId(_random, allowEmpty: false);
        IMessage request = _random.Next(15) switch
        {
            0 => new GetCharacterRequest { CharacterId = bad },
            1 => new GetChatRequest { ChatId = bad },
            2 => new DeleteChatRequest { ChatId = bad },
            3 => new GetHistoryRequest { ChatId = bad },
            4 => new SendMessageRequest { ChatId = bad, Text = Marker() },
            5 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker(), ReplyCharacterIds = { bad } },
            6 => new StreamReplyRequest { ChatId = bad, Seq = seq },
            7 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = badOptional },
            8 => new CancelReplyRequest { ChatId = bad, Seq = seq },
            9 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = badOptional },
            10 => new RegenerateRequest { ChatId = bad, Seq = seq },
            11 => new SelectCandidateRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = bad },
            12 => new ContinueChatRequest { ChatId = bad, Turns = 1 },
            13 => new ListCandidatesRequest { ChatId = bad, Seq = seq },
            _ => new CreateChatRequest { CharacterIds = { party.Private.CharacterId, bad }, Title = Marker() },
        };
        return Case(request, "malformed-id", Invalid, party.UserId);
    }

    /// <summary>Well-formed ids of nothing: NOT_FOUND (INVALID_ARGUMENT for a speaker not in the chat).</summary>
    private HostileCase UnknownId()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var seq = chat.CharacterTurn(_random).Seq;
        var unknown = Pick(Guid.NewGuid().ToString("D"), "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff");
        IMessage request = _random.Next(13) switch
        {
            0 => new GetCharacterRequest { CharacterId = unknown },
            1 => new GetChatRequest { ChatId = unknown },
            2 => new DeleteChatRequest { ChatId = unknown },
            3 => new GetHistoryRequest { ChatId = unknown },
            4 => new SendMessageRequest { ChatId = unknown, Text = Marker() },
            5 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker(), ReplyCharacterIds = { unknown } },
            6 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = unknown },
            7 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = unknown },
            8 => new RegenerateRequest { ChatId = unknown, Seq = seq },
            9 => new SelectCandidateRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = unknown },
            10 => new ContinueChatRequest { ChatId = unknown, Turns = 2 },
            11 => new ListCandidatesRequest { ChatId = unknown, Seq = seq },
            _ => new CreateChatRequest { CharacterIds = { unknown }, Title = Marker() },
        };
        return Case(request, "unknown-id", [StatusCode.NotFound, StatusCode.InvalidArgument], party.UserId);
    }

    /// <summary>Another user's chat, with its real turns, candidates, page tokens and request ids: NOT_FOUND.</summary>
    private HostileCase ForeignChat()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var chat = AnyChat(victim);
        var turn = chat.CharacterTurn(_random);
        IMessage request = _random.Next(13) switch
        {
            0 => new GetChatRequest { ChatId = chat.ChatId },
            1 => new DeleteChatRequest { ChatId = chat.ChatId },
            2 => new GetHistoryRequest { ChatId = chat.ChatId },
            3 => new GetHistoryRequest { ChatId = chat.ChatId, PageToken = Pick(chat.HistoryTokens.ToArray()) },
            4 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker() },
            5 => new SendMessageRequest { ChatId = chat.ChatId, Text = Marker(), RequestId = chat.Sends[0].RequestId },
            6 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            7 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = turn.CandidateId },
            8 => new RegenerateRequest { ChatId = chat.ChatId, Seq = turn.Seq, RequestId = FreshRequestId() },
            9 => new SelectCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = turn.CandidateId },
            10 => new ContinueChatRequest { ChatId = victim.Group.ChatId, Turns = 1 },
            11 => new ListCandidatesRequest { ChatId = chat.ChatId, Seq = turn.Seq },
            _ => new DeleteChatRequest { ChatId = Pick(victim.Doomed.ToArray()) },
        };
        return Case(request, "foreign-chat", NotFound, party.UserId);
    }

    /// <summary>Another user's characters: private ones are NOT_FOUND; a public one can be read, not stolen into their chats.</summary>
    private HostileCase ForeignCharacter()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var hidden = Pick(victim.Private, victim.Quiet).CharacterId;
        return _random.Next(5) switch
        {
            0 => Case(new GetCharacterRequest { CharacterId = hidden }, "foreign-character", NotFound, party.UserId),
            1 => Case(new GetCharacterRequest { CharacterId = victim.Public.CharacterId }, "foreign-public-character", Ok, party.UserId,
                check: r => r is Character { DisplayName: "Pat" } c && c.Visibility == Visibility.Public ? null : $"public character read back as {r}"),
            2 => Case(new CreateChatRequest { CharacterIds = { hidden }, Title = Marker() }, "foreign-character", NotFound, party.UserId),
            3 => Case(new CreateChatRequest { CharacterIds = { party.Private.CharacterId, hidden }, Title = Marker() }, "foreign-character", NotFound, party.UserId),
            _ => Case(new SendMessageRequest { ChatId = AnyChat(party).ChatId, Text = Marker(), ReplyCharacterIds = { hidden } },
                "foreign-character", Invalid, party.UserId),
        };
    }

    /// <summary>The caller's own chat and turn with a candidate of another turn or another chat: NOT_FOUND.</summary>
    private HostileCase ForeignCandidate()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var turn = chat.CharacterTurn(_random);
        var candidate = _random.Next(3) switch
        {
            0 => CandidateOfAnotherTurn(chat, turn.Seq),
            1 => AnyChat(_world.Other(party)).CharacterTurn(_random).CandidateId,
            _ => party.Chats.First(c => c != chat).CharacterTurn(_random).CandidateId,
        };
        IMessage request = _random.Next(3) switch
        {
            0 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = candidate },
            1 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = candidate },
            _ => new SelectCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = candidate },
        };
        return Case(request, "foreign-candidate", NotFound, party.UserId);
    }

    /// <summary>
    /// Turn numbers that are not positive (INVALID_ARGUMENT), past the end (NOT_FOUND), or a user
    /// turn where a reply is needed (FAILED_PRECONDITION, or NOT_FOUND for its "candidate"), also
    /// where a turn's candidates are listed.
    /// </summary>
    private HostileCase BadSeq()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var (seq, allowed) = _random.Next(9) switch
        {
            0 => (0L, Invalid),
            1 => (-1L, Invalid),
            2 => (long.MinValue, Invalid),
            3 => (int.MinValue, Invalid),
            4 => (long.MaxValue, NotFound),
            5 => (chat.LastSeq + 1000, NotFound),
            6 => (int.MaxValue, NotFound),
            _ => (chat.UserTurn(_random).Seq, new[] { StatusCode.FailedPrecondition, StatusCode.NotFound }),
        };
        var candidate = Pick(chat.Candidates.Values.SelectMany(c => c).ToArray());
        IMessage request = _random.Next(5) switch
        {
            0 => new StreamReplyRequest { ChatId = chat.ChatId, Seq = seq },
            1 => new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq },
            2 => new RegenerateRequest { ChatId = chat.ChatId, Seq = seq, RequestId = FreshRequestId() },
            3 => new ListCandidatesRequest { ChatId = chat.ChatId, Seq = seq },
            _ => new SelectCandidateRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = candidate },
        };
        return Case(request, "bad-seq", allowed, party.UserId);
    }
}
