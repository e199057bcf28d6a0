using ChatService.Api.V1;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Legitimate writes cut short: streams cancelled after a few events, deadlines of a few
/// milliseconds, replies cancelled or resumed while they are generated. They may be recorded
/// or not; either way every chat must stay consistent and every reply must settle.
/// </summary>
internal sealed partial class HostileCases
{
    private HostileCase SendCancelledMidStream()
    {
        var party = Caller();
        return Case(LegitimateSend(party), "send-cancelled-mid-stream", Ok, party.UserId,
            cancelAfter: _random.Next(4) == 0 ? null : _random.Next(0, 9), deadlineMs: null, effect: CaseEffect.MayWrite);
    }

    private HostileCase SendWithDeadline()
    {
        var party = Caller();
        return Case(LegitimateSend(party), "send-deadline", Ok, party.UserId, deadlineMs: _random.Next(1, 60), effect: CaseEffect.MayWrite);
    }

    /// <summary>Sends, then cancels the owed reply as soon as the send is accepted: the reply ends settled, never pending.</summary>
    private HostileCase SendThenCancelReply()
    {
        var party = Caller();
        var send = LegitimateSend(party);
        var headers = As(party.UserId);
        return Case("CancelReply", "send-then-cancel-reply", [StatusCode.OK], async (cancellationToken, _) =>
        {
            try
            {
                using var call = _client.SendMessage(send, new CallOptions(headers, cancellationToken: cancellationToken));
                await call.ResponseStream.MoveNext(cancellationToken);
                var pending = call.ResponseStream.Current.Accepted.PendingTurns[0];
                var turn = await _client.CancelReplyAsync(new CancelReplyRequest { ChatId = pending.ChatId, Seq = pending.Seq, CandidateId = pending.CandidateId },
                    new CallOptions(headers, cancellationToken: cancellationToken));
                return Observation.Ok with
                {
                    Problem = turn.State is TurnState.Pending or TurnState.Streaming ? $"CancelReply returned reply {turn.Seq} still {turn.State}" : null,
                };
            }
            catch (RpcException ex)
            {
                return Observation.Of(ex);
            }
        }, effect: CaseEffect.MayWrite);
    }

    /// <summary>Sends, hangs up right after Accepted, and resumes the reply with StreamReply from a random point.</summary>
    private HostileCase SendThenResume()
    {
        var party = Caller();
        var send = LegitimateSend(party);
        var headers = As(party.UserId);
        var after = _random.Next(0, 4);
        return Case("StreamReply", "send-then-resume", [StatusCode.OK], async (cancellationToken, _) =>
        {
            ReplyEvent.Types.Accepted accepted;
            using (var cut = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                try
                {
                    using var call = _client.SendMessage(send, new CallOptions(headers, cancellationToken: cut.Token));
                    await call.ResponseStream.MoveNext(cancellationToken);
                    accepted = call.ResponseStream.Current.Accepted;
                    await cut.CancelAsync();
                }
                catch (RpcException ex)
                {
                    return Observation.Of(ex);
                }
            }

            var pending = accepted.PendingTurns[0];
            var resume = new StreamReplyRequest { ChatId = pending.ChatId, Seq = pending.Seq, CandidateId = pending.CandidateId, AfterSequence = after };
            return await Call(headers, resume, check: null, cancelAfter: null)(cancellationToken, null);
        }, effect: CaseEffect.MayWrite);
    }

    private HostileCase RegenerateCutShort()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var request = new RegenerateRequest { ChatId = chat.ChatId, Seq = chat.CharacterTurn(_random).Seq, RequestId = Pick("", FreshRequestId()) };
        var (cancelAfter, deadline) = CutShort();
        // FAILED_PRECONDITION once a turn has as many candidates as it may have.
        return Case(request, "regenerate-cut-short", [StatusCode.OK, StatusCode.FailedPrecondition], party.UserId,
            cancelAfter: cancelAfter, deadlineMs: deadline, effect: CaseEffect.MayWrite);
    }

    private HostileCase ContinueCutShort()
    {
        var party = Caller();
        var request = new ContinueChatRequest { ChatId = party.Group.ChatId, Turns = _random.Next(1, 4), RequestId = Pick("", FreshRequestId()) };
        var (cancelAfter, deadline) = CutShort();
        return Case(request, "continue-cut-short", Ok, party.UserId, cancelAfter: cancelAfter, deadlineMs: deadline, effect: CaseEffect.MayWrite);
    }

    /// <summary>Unary writes with a deadline of a few milliseconds (or none).</summary>
    private HostileCase WriteWithDeadline()
    {
        var party = Caller();
        var chat = AnyChat(party);
        var turn = chat.CharacterTurn(_random);
        var deadline = _random.Next(3) == 0 ? (int?)null : _random.Next(1, 12);
        return _random.Next(6) switch
        {
            4 => Case(new UpdateCharacterRequest
                {
                    Character = new Character { CharacterId = party.Unlisted.CharacterId, Scenario = Garbage.OddText(_random) },
                    UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "scenario" } },
                },
                "update-character-deadline", Ok, party.UserId, deadlineMs: deadline, effect: CaseEffect.MayWrite),
            5 => Case(new UpdatePersonaRequest
                {
                    Persona = new Persona { PersonaId = party.AltPersona.PersonaId, Description = Garbage.OddText(_random) },
                    UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "description" } },
                },
                "update-persona-deadline", Ok, party.UserId, deadlineMs: deadline, effect: CaseEffect.MayWrite),
            0 => Case(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = turn.Seq, CandidateId = Pick(chat.Candidates[turn.Seq].ToArray()) },
                "select-deadline", Ok, party.UserId, deadlineMs: deadline, effect: CaseEffect.MayWrite),
            1 => Case(new CreateChatRequest { CharacterIds = { party.Private.CharacterId, _world.Other(party).Public.CharacterId }, Title = Garbage.OddTitle(_random) },
                "create-chat-deadline", Ok, party.UserId, deadlineMs: deadline, effect: CaseEffect.MayWrite),
            2 => Case(new CreateCharacterRequest { DisplayName = "Odd", Persona = Garbage.OddText(_random), Greeting = Garbage.OddText(_random) },
                "create-character-deadline", Ok, party.UserId, deadlineMs: deadline, effect: CaseEffect.MayWrite),
            // A chat deleted by an earlier case is NOT_FOUND.
            _ => Case(new DeleteChatRequest { ChatId = Pick(party.Doomed.ToArray()) }, "delete-chat-deadline", [StatusCode.OK, StatusCode.NotFound], party.UserId,
                deadlineMs: deadline, effect: CaseEffect.MayWrite),
        };
    }

    /// <summary>A valid send with awkward text (some asking the simulated backend to be slow, hang or fail).</summary>
    private SendMessageRequest LegitimateSend(Party party)
    {
        var chat = AnyChat(party);
        var request = new SendMessageRequest { ChatId = chat.ChatId, Text = Garbage.OddText(_random), RequestId = Pick("", FreshRequestId()) };
        if (chat.IsGroup && _random.Next(2) == 0)
        {
            request.ReplyCharacterIds.Add(chat.CharacterIds.OrderBy(_ => _random.Next()).Take(_random.Next(1, 3)));
        }

        return request;
    }

    /// <summary>Either a cancel after a few events or a deadline of a few milliseconds.</summary>
    private (int? CancelAfter, int? DeadlineMs) CutShort() =>
        _random.Next(2) == 0 ? (_random.Next(0, 8), null) : (null, _random.Next(1, 60));
}
