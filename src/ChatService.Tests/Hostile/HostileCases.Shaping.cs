using ChatService.Api.V1;
using Google.Protobuf;

namespace ChatService.Tests.Hostile;

/// <summary>Rewinding, deleting, restoring and forking with requests that must be refused (and write nothing).</summary>
internal sealed partial class HostileCases
{
    private HostileCase BadShaping()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var foreign = AnyChat(_world.Other(party));
        // Far past anything the seeded chats reach, even with the turns phase 2's writes add.
        var beyond = chat.LastSeq + 1_000_000 + _random.Next(0, 1_000_000);
        var badSeq = Pick(0L, -1L, long.MinValue);
        var turn = chat.CharacterTurn(_random);
        var (request, generator, allowed) = _random.Next(27) switch
        {
            22 => ((IMessage)new EditTurnRequest { ChatId = foreign.ChatId, Seq = 1, Text = Marker() }, "edit-foreign", NotFound),
            23 => (new EditTurnRequest { ChatId = chat.ChatId, Seq = turn.Seq, Text = Pick(Garbage.Blank(_random), Garbage.Oversized(_random, MaxMessageBytes, Marker())) }, "edit-bad-text", Invalid),
            24 => (new EditTurnRequest { ChatId = chat.ChatId, Seq = Pick(badSeq, beyond), Text = Marker() }, "edit-bad-seq", Refused),
            25 => (new EditTurnRequest { ChatId = chat.ChatId, Seq = turn.Seq, Text = Marker(), RequestId = Garbage.BadRequestId(_random) }, "edit-bad-request-id", Invalid),
            26 => (new ListTurnRevisionsRequest { ChatId = foreign.ChatId, Seq = 1 }, "revisions-foreign", NotFound),
            14 => ((IMessage)new RateCandidateRequest { ChatId = foreign.ChatId, Seq = 1, Stars = 3 }, "rate-foreign", NotFound),
            15 => (new RateCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, Stars = Pick(0, -1, 5, int.MaxValue, int.MinValue) }, "rate-bad-stars", Invalid),
            16 => (new RateCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, Stars = 2, Tags = { Marker(), "x y" } }, "rate-bad-tag", Invalid),
            17 => (new RateCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, Stars = 2, Comment = Marker() + new string('c', _random.Next(2001, 20_000)) }, "rate-long-comment", Invalid),
            18 => (new RateCandidateRequest { ChatId = chat.ChatId, Seq = beyond, Stars = 2 }, "rate-missing-turn", NotFound),
            19 => (new PinTurnRequest { ChatId = foreign.ChatId, Seq = 1 }, "pin-foreign", NotFound),
            20 => (new PinTurnRequest { ChatId = chat.ChatId, Seq = Pick(badSeq, beyond) }, "pin-bad-seq", Refused),
            21 => (new UnpinTurnRequest { ChatId = foreign.ChatId, Seq = 1 }, "unpin-foreign", NotFound),
            0 => ((IMessage)new RewindChatRequest { ChatId = foreign.ChatId, ToSeq = 1 }, "rewind-foreign", NotFound),
            1 => (new RewindChatRequest { ChatId = chat.ChatId, ToSeq = badSeq }, "rewind-bad-seq", Invalid),
            2 => (new RewindChatRequest { ChatId = chat.ChatId, ToSeq = beyond }, "rewind-missing-turn", NotFound),
            3 => (new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1, RequestId = Garbage.BadRequestId(_random) }, "rewind-bad-request-id", Invalid),
            4 => (new DeleteTurnsRequest { ChatId = chat.ChatId }, "delete-nothing", Invalid),
            5 => (new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 1, 1 } }, "delete-twice", Invalid),
            6 => (new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { Enumerable.Range(1, _random.Next(101, 5000)).Select(i => (long)i) } }, "delete-too-many", Invalid),
            7 => (new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 1, badSeq } }, "delete-bad-seq", Invalid),
            8 => (new DeleteTurnsRequest { ChatId = foreign.ChatId, Seqs = { 1 } }, "delete-foreign", NotFound),
            9 => (new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 1, beyond } }, "delete-missing-turn", NotFound),
            10 => (new RestoreTurnsRequest { ChatId = foreign.ChatId, Seqs = { 1 } }, "restore-foreign", NotFound),
            11 => (new ForkChatRequest { ChatId = foreign.ChatId, AtSeq = 1 }, "fork-foreign", NotFound),
            12 => (new ForkChatRequest { ChatId = chat.ChatId, AtSeq = Pick(badSeq, beyond) }, "fork-bad-seq", Refused),
            _ => (new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, Title = Marker() + Pick(new string('t', _random.Next(201, 5000)), "\u202E", "\u2067x\u2069") }, "fork-bad-title", Invalid),
        };
        return Case(request, generator, allowed, party.UserId);
    }

    /// <summary>EditAndRegenerate (a stream taking EditTurnRequest, so not reachable through the request's type) refused.</summary>
    private HostileCase BadEditAndRegenerate()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var foreign = AnyChat(_world.Other(party));
        var (request, generator, allowed) = _random.Next(4) switch
        {
            0 => (new EditTurnRequest { ChatId = foreign.ChatId, Seq = Math.Max(1, foreign.LastSeq - 1), Text = Marker() }, "edit-regenerate-foreign", NotFound),
            1 => (new EditTurnRequest { ChatId = chat.ChatId, Seq = Math.Max(1, chat.LastSeq - 1), Text = Garbage.Blank(_random) }, "edit-regenerate-blank", Invalid),
            2 => (new EditTurnRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, Text = Marker() }, "edit-regenerate-character-turn", Refused),
            _ => (new EditTurnRequest { ChatId = chat.ChatId, Seq = chat.LastSeq + 1_000_000 + _random.Next(0, 1_000_000), Text = Marker() }, "edit-regenerate-missing-turn", NotFound),
        };
        return Case("EditAndRegenerate", generator, allowed,
            Streaming(As(party.UserId), (c, o) => c.EditAndRegenerate(request, o), new ReplyEvents.Expectation(true, 0), cancelAfter: null, check: null),
            MaybeDeadline());
    }
}
