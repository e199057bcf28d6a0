using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Dispatch;

public sealed class ReplyPipelineTests(PipelineFixture fixture) : ApiTestBase(fixture), IClassFixture<PipelineFixture>
{
    private async Task<(string User, Character Character, Chat Chat)> ChatWithRouteAsync(string route, string name = "Ada")
    {
        var user = TestUsers.New();
        var character = await Fixture.Client(user).CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = name,
            Persona = $"{name} is a patient mathematician.",
            ModelRoute = route,
        }, cancellationToken: Ct);
        return (user, character, await CreateChatAsync(user, character));
    }

    [Fact]
    public async Task SendMessage_StreamsTokenByToken_AndStoresExactlyWhatWasStreamed()
    {
        var (user, ada, chat) = await ChatWithRouteAsync("default");

        var events = await SendAsync(user, chat.ChatId, "Tell me about primes.");

        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(ReplyEvent.EventOneofCase.Accepted, events[0].EventCase);
        Assert.Equal(ReplyEvent.EventOneofCase.Started, events[1].EventCase);
        Assert.Equal(ada.CharacterId, events[1].Started.CharacterId);
        var deltas = events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text).ToList();
        Assert.True(deltas.Count > 3, $"expected several deltas, got {deltas.Count}");
        var completed = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, completed.EventCase);
        Assert.Equal(string.Concat(deltas), completed.Completed.Turn.Text);
        Assert.Equal(TurnState.Complete, completed.Completed.Turn.State);

        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal(string.Concat(deltas), history.Turns[0].Text);
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Outcome = 'ok' AND Backend = 'sim' AND FirstTokenTime IS NOT NULL AND CompletionTokens > 0",
            ("c", chat.ChatId), ("s", completed.Seq)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND OwedShard IS NOT NULL", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task BackendFailingBeforeFirstToken_FallsBackToTheNextBackend()
    {
        var (user, _, chat) = await ChatWithRouteAsync("fallback");

        var events = await SendAsync(user, chat.ChatId, "hello");

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        var seq = events[^1].Seq;
        Assert.True(await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Backend = 'broken' AND Outcome <> 'ok'", ("c", chat.ChatId), ("s", seq)) >= 1);
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Backend = 'sim' AND Outcome = 'ok'", ("c", chat.ChatId), ("s", seq)));
    }

    [Fact]
    public async Task EveryBackendDown_TurnEndsFailed_VisibleInHistoryAndModelCallLog()
    {
        var (user, _, chat) = await ChatWithRouteAsync("down");

        var events = await SendAsync(user, chat.ChatId, "hello");

        var failed = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed.EventCase);
        Assert.Equal("BACKEND_UNAVAILABLE", failed.Failed.Code);
        Assert.NotEmpty(failed.Failed.Reason);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal(TurnState.Failed, history.Turns[0].State);
        Assert.NotEmpty(history.Turns[0].FailureReason);
        Assert.Equal(0, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Outcome = 'ok'", ("c", chat.ChatId), ("s", failed.Seq)));
        Assert.True(await Fixture.CountAsync(
            "SELECT COUNT(DISTINCT Backend) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Error IS NOT NULL", ("c", chat.ChatId), ("s", failed.Seq)) == 2);
    }

    [Fact]
    public async Task MidStreamFailure_KeepsThePartialTextAndMarksIt()
    {
        var (user, _, chat) = await ChatWithRouteAsync("default");

        var events = await SendAsync(user, chat.ChatId, "please break [sim:fail-mid-stream]");

        var failed = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed.EventCase);
        Assert.Equal("INTERRUPTED", failed.Failed.Code);
        var streamed = string.Concat(events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text));
        Assert.NotEmpty(streamed);
        Assert.Equal(streamed, failed.Failed.Turn.Text);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal((TurnState.Failed, streamed), (history.Turns[0].State, history.Turns[0].Text));
    }

    [Fact]
    public async Task StreamReply_AfterSequenceN_GetsExactlyTheEventsAfterN()
    {
        var (user, _, chat) = await ChatWithRouteAsync("slow");
        using var send = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "go slowly" }, cancellationToken: Ct);
        var seen = new List<ReplyEvent>();
        while (seen.Count < 5 && await send.ResponseStream.MoveNext(Ct))
        {
            seen.Add(send.ResponseStream.Current);
        }

        // The client drops off mid-reply and resumes after the last event it saw.
        send.Dispose();
        var n = seen[^1].Sequence;
        using var resumed = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = seen[0].Seq, AfterSequence = n }, cancellationToken: Ct);
        var tail = await resumed.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        using var full = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = seen[0].Seq }, cancellationToken: Ct);
        var all = await full.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        Assert.Equal(all.Skip((int)n), tail);
        Assert.Equal(n + 1, tail[0].Sequence);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, tail[^1].EventCase);
        Assert.Equal(seen.Skip(1).Select(e => e.Sequence), all.Take((int)n).Skip(1).Select(e => e.Sequence));
    }

    [Fact]
    public async Task ClientDisconnect_DoesNotStopGeneration()
    {
        var (user, _, chat) = await ChatWithRouteAsync("slow");
        using (var send = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "talk to me" }, cancellationToken: Ct))
        {
            Assert.True(await send.ResponseStream.MoveNext(Ct));
        }

        var turn = await WaitForSettledAsync(user, chat.ChatId);

        Assert.Equal(TurnState.Complete, turn.State);
        Assert.NotEmpty(turn.Text);
    }

    [Fact]
    public async Task CancelReply_StopsGenerationAndKeepsWhatWasGenerated()
    {
        var (user, _, chat) = await ChatWithRouteAsync("slow");
        using var send = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "a long story please" }, cancellationToken: Ct);
        var deltas = new List<string>();
        long seq = 0;
        while (deltas.Count < 3 && await send.ResponseStream.MoveNext(Ct))
        {
            seq = send.ResponseStream.Current.Seq;
            if (send.ResponseStream.Current.EventCase == ReplyEvent.EventOneofCase.Delta)
            {
                deltas.Add(send.ResponseStream.Current.Delta.Text);
            }
        }

        var cancelled = await Fixture.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq }, cancellationToken: Ct);

        Assert.Equal(TurnState.Cancelled, cancelled.State);
        Assert.StartsWith(string.Concat(deltas), cancelled.Text);
        var rest = await send.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal("CANCELLED", rest[^1].Failed.Code);
        Assert.Equal(cancelled.Text, string.Concat(deltas.Concat(rest.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text))));
        Assert.Equal(cancelled, await Fixture.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = seq }, cancellationToken: Ct));
    }

    [Fact]
    public async Task Regenerate_AddsACandidate_AndSelectCandidateSwitchesThePrimary()
    {
        var (user, _, chat) = await ChatWithRouteAsync("default");
        var first = (await SendAsync(user, chat.ChatId, "hello"))[^1].Completed.Turn;

        using var regenerate = Fixture.Client(user).Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = first.Seq, RequestId = "swipe-1" }, cancellationToken: Ct);
        var events = await regenerate.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        var second = events[^1].Completed.Turn;

        Assert.NotEqual(first.CandidateId, second.CandidateId);
        Assert.Equal(2, second.CandidateCount);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal((second.CandidateId, 2), (history.Turns[0].CandidateId, history.Turns[0].CandidateCount));

        var selected = await Fixture.Client(user).SelectCandidateAsync(
            new SelectCandidateRequest { ChatId = chat.ChatId, Seq = first.Seq, CandidateId = first.CandidateId }, cancellationToken: Ct);
        history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal((first.CandidateId, first.Text, 2), (history.Turns[0].CandidateId, history.Turns[0].Text, history.Turns[0].CandidateCount));
        Assert.Equal(first.Text, selected.Text);

        // The same request id again adds nothing.
        using var again = Fixture.Client(user).Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = first.Seq, RequestId = "swipe-1" }, cancellationToken: Ct);
        var repeat = await again.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.Equal(2, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = @s", ("c", chat.ChatId), ("s", first.Seq)));
    }

    [Fact]
    public async Task Regenerate_UserTurn_IsFailedPrecondition()
    {
        var (user, _, chat) = await ChatWithRouteAsync("default");
        var accepted = (await SendAsync(user, chat.ChatId, "hello"))[0];

        await AssertStatusAsync(StatusCode.FailedPrecondition, async () =>
        {
            using var call = Fixture.Client(user).Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = accepted.Accepted.UserTurn.Seq }, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });
    }

    [Fact]
    public async Task GroupChat_ContinueChat_CharactersTakeTurnsAndEachReplyCompletes()
    {
        var user = TestUsers.New();
        var a = await CreateCharacterAsync(user, "Ada", "");
        var b = await CreateCharacterAsync(user, "Bob", "");
        var chat = await CreateChatAsync(user, a, b);
        await SendAsync(user, chat.ChatId, "Discuss primes, you two.", "", a.CharacterId, b.CharacterId);

        using var call = Fixture.Client(user).ContinueChat(new ContinueChatRequest { ChatId = chat.ChatId, Turns = 3, RequestId = "more" }, cancellationToken: Ct);
        var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        var completed = events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Completed).Select(e => e.Completed.Turn).ToList();
        Assert.Equal(3, completed.Count);
        Assert.Equal([completed[0].Seq, completed[0].Seq + 1, completed[0].Seq + 2], completed.Select(t => t.Seq));
        Assert.NotEqual(completed[0].CharacterId, completed[1].CharacterId);
        Assert.NotEqual(completed[1].CharacterId, completed[2].CharacterId);
        var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(6, history.Turns.Count);
        Assert.All(history.Turns.Where(t => t.Role == AuthorRole.Character), t => Assert.Equal(TurnState.Complete, t.State));
    }

    [Fact]
    public async Task OwedReplyOfADeadReplica_IsRecoveredExactlyOnce()
    {
        var (user, _, chat) = await ChatWithRouteAsync("default");
        var accepted = (await SendAsync(user, chat.ChatId, "first"))[0];
        // A reply recorded by a replica that died before generating it: owed, lease expired.
        var seq = accepted.Accepted.UserTurn.Seq + 2;
        var candidateId = Guid.NewGuid().ToString();
        await Fixture.Database.WriteAsync(
        [
            global::Spanner.Client.SpannerMutation.Insert("Turns").Set("ChatId", chat.ChatId).Set("Seq", seq).Set("AuthorRole", 2L)
                .Set("CharacterId", chat.CharacterIds[0]).Set("ReplyToSeq", seq - 1).Set("PrimaryCandidateId", candidateId)
                .Set("CandidateCount", 1L).Set("CreateTime", global::Spanner.Client.SpannerCommitTimestamp.Value)
                .Set("UpdateTime", global::Spanner.Client.SpannerCommitTimestamp.Value),
            global::Spanner.Client.SpannerMutation.Insert("Candidates").Set("ChatId", chat.ChatId).Set("Seq", seq).Set("CandidateId", candidateId)
                .Set("State", 1L).Set("OwedShard", 0L).Set("LeaseOwner", "dead-replica").Set("LeaseUntil", DateTimeOffset.UtcNow.AddSeconds(-1))
                .Set("CreateTime", global::Spanner.Client.SpannerCommitTimestamp.Value).Set("UpdateTime", global::Spanner.Client.SpannerCommitTimestamp.Value),
            global::Spanner.Client.SpannerMutation.Update("Chats").Set("ChatId", chat.ChatId).Set("NextSeq", seq),
        ], Ct);

        using var follow = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = seq }, cancellationToken: Ct);
        var events = await follow.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = @s AND Outcome = 'ok'", ("c", chat.ChatId), ("s", seq)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND OwedShard IS NOT NULL", ("c", chat.ChatId)));
    }

    private async Task<Turn> WaitForSettledAsync(string user, string chatId)
    {
        for (var i = 0; i < 200; i++)
        {
            var history = await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 1 }, cancellationToken: Ct);
            if (history.Turns[0].State is not (TurnState.Pending or TurnState.Streaming))
            {
                return history.Turns[0];
            }

            await Task.Delay(50, Ct);
        }

        throw new TimeoutException("the reply did not settle within 10 s");
    }
}
