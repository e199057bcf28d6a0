using ChatService.Api.V1;
using Google.Protobuf;

namespace ChatService.Tests.Hostile;

/// <summary>GetReplyPrompt: another user's chat, bad ids and seqs refused; the caller's own candidates readable.</summary>
internal sealed partial class HostileCases
{
    private static readonly Grpc.Core.StatusCode[] OkOrNotFound = [Grpc.Core.StatusCode.OK, Grpc.Core.StatusCode.NotFound];

    private HostileCase BadReplyPrompt()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var foreign = AnyChat(_world.Other(party));
        var turn = chat.CharacterTurn(_random);
        var foreignTurn = foreign.CharacterTurn(_random);
        var (request, generator, allowed) = _random.Next(7) switch
        {
            0 => ((IMessage)new GetReplyPromptRequest { ChatId = foreign.ChatId, Seq = foreignTurn.Seq }, "prompt-foreign", NotFound),
            1 => (new GetReplyPromptRequest { ChatId = foreign.ChatId, Seq = foreignTurn.Seq, CandidateId = foreignTurn.CandidateId }, "prompt-foreign-candidate", NotFound),
            2 => (new GetReplyPromptRequest { ChatId = Garbage.BadId(_random), Seq = turn.Seq }, "prompt-bad-chat-id", Invalid),
            3 => (new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = Pick(0L, -1L, long.MinValue) }, "prompt-bad-seq", Invalid),
            4 => (new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = Garbage.BadId(_random, allowEmpty: false) }, "prompt-bad-candidate-id", Invalid),
            5 => (new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = chat.LastSeq + 1_000_000 + _random.Next(0, 1_000_000) }, "prompt-missing-turn", NotFound),
            // The caller's own: the prompt when the candidate settled after prompts were stored, else NOT_FOUND.
            _ => (new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = turn.CandidateId }, "prompt-own", OkOrNotFound),
        };
        return Case(request, generator, allowed, party.UserId, check: response =>
            response is ReplyPrompt { MessagesOmitted: false } prompt && (prompt.Messages.Count == 0 || prompt.TotalTokens > prompt.BudgetTokens)
                ? "a stored prompt with no messages, or over its budget"
                : null);
    }
}
