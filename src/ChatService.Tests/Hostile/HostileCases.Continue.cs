using ChatService.Api.V1;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// ContinueReply: requests that must be refused and write nothing (malformed or unknown ids, another
/// user's chat, bad turn numbers, a user turn or a reply that is not the chat's last), and
/// continuations of a chat's last turn cut short.
/// </summary>
internal sealed partial class HostileCases
{
    private HostileCase BadContinueReply()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var foreign = AnyChat(_world.Other(party));
        var last = chat.LastSeq;
        // Turns with a later one: never the chat's last (no case rewinds or deletes turns).
        var earlier = chat.Turns.Where(t => t.Seq < last).ToList();
        var beyond = last + 1_000_000 + _random.Next(0, 1_000_000);
        var (request, generator, allowed) = _random.Next(8) switch
        {
            0 => (new ContinueReplyRequest { ChatId = foreign.ChatId, Seq = foreign.LastSeq, RequestId = FreshRequestId() }, "continue-reply-foreign", NotFound),
            1 => (new ContinueReplyRequest { ChatId = Garbage.BadRequestId(_random) + "!", Seq = last }, "continue-reply-malformed-chat", Invalid),
            2 => (new ContinueReplyRequest { ChatId = Guid.NewGuid().ToString(), Seq = 1, RequestId = FreshRequestId() }, "continue-reply-unknown-chat", NotFound),
            3 => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = Pick(0L, -1L, long.MinValue), RequestId = FreshRequestId() }, "continue-reply-bad-seq", Invalid),
            4 => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = beyond, RequestId = FreshRequestId() }, "continue-reply-missing-turn", NotFound),
            5 => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = last, RequestId = Garbage.BadRequestId(_random) }, "continue-reply-bad-request-id", Invalid),
            _ when earlier.Count > 0 => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = Pick(earlier.ToArray()).Seq, RequestId = FreshRequestId() },
                "continue-reply-not-last", [StatusCode.FailedPrecondition]),
            _ => (new ContinueReplyRequest { ChatId = chat.ChatId, Seq = beyond, RequestId = FreshRequestId() }, "continue-reply-missing-turn", NotFound),
        };
        return Case(request, generator, allowed, party.UserId);
    }

    private HostileCase ContinueReplyCutShort()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = chat.LastSeq, RequestId = Pick("", FreshRequestId()) };
        var (cancelAfter, deadline) = CutShort();
        // FAILED_PRECONDITION when the chat's last turn is a user's or still generating, or sends came after it.
        return Case(request, "continue-reply-cut-short", [StatusCode.OK, StatusCode.FailedPrecondition], party.UserId,
            cancelAfter: cancelAfter, deadlineMs: deadline, effect: CaseEffect.MayWrite);
    }
}
