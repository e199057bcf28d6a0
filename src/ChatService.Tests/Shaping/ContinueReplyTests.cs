using ChatService.Api.V1;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Shaping;

/// <summary>
/// ContinueReply on the OpenAI-compatible fake server (which records every prompt), against the emulator
/// and the Redis Cluster: what the model is sent, what is stored, what is streamed, and what is refused.
/// </summary>
public sealed partial class ContinueReplyTests(OpenAIBackedFixture fixture) : ShapingTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    /// <summary>What the fake server answers a first reply with (its default chunks).</summary>
    private const string ModelReply = "Ahoy, matey! The treasure is under the palm.";

    /// <summary>What it answers a continuation with, in the tests that set it.</summary>
    private static readonly string[] MoreChunks = [" A parrot", " guards it", ", day and night."];

    private const long SequenceBase = 1L << 40;

    [Fact]
    public async Task ContinueReply_AppendsWhatIsStreamedToTheSameCandidate_AndThePromptEndsWithTheReplyAsTheAssistants()
    {
        var firstRequest = OpenAI.Server.Requests.Count; // the server is shared: other tests' continuations come before
        var (user, chat) = await ChatWithExchangesAsync(1); // 1 greeting, 2 "message 0", 3 the model's reply
        var client = Fixture.Client(user);
        var reply = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0]; // the window is cached
        Assert.Equal((3L, ModelReply, 0), (reply.Seq, reply.Text, reply.Continuations));
        var requests = OpenAI.Server.Requests.Count;
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "continue-1" };

        var events = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct)));

        // Accepted: the same candidate, pending, with the text it had; then the new text, then the whole.
        var accepted = events[0].Accepted;
        Assert.Equal((false, true), (accepted.Duplicate, accepted.Continuation));
        var pending = Assert.Single(accepted.PendingTurns);
        Assert.Equal((3L, reply.CandidateId, reply.CandidateCount, TurnState.Pending, ModelReply, 1),
            (pending.Seq, pending.CandidateId, pending.CandidateCount, pending.State, pending.Text, pending.Continuations));
        var streamed = string.Concat(events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text));
        Assert.Equal(string.Concat(MoreChunks), streamed);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        var completed = events[^1].Completed.Turn;
        Assert.Equal((reply.CandidateId, ModelReply + streamed, TurnState.Complete, 1, reply.CandidateCount),
            (completed.CandidateId, completed.Text, completed.State, completed.Continuations, completed.CandidateCount));
        Assert.All(events, e => Assert.Equal((chat.ChatId, 3L, reply.CandidateId), (e.ChatId, e.Seq, e.CandidateId)));

        // Its events are numbered above every sequence the reply itself had, and keep increasing.
        Assert.Equal(SequenceBase + 1, events[0].Sequence);
        Assert.Equal(events.Select(e => e.Sequence).Order(), events.Select(e => e.Sequence));
        Assert.Equal(events.Count, events.Select(e => e.Sequence).Distinct().Count());

        // The model got the turn's prompt with the reply so far as the final, assistant, message.
        Assert.Equal(requests + 1, OpenAI.Server.Requests.Count);
        var prompt = OpenAI.Server.Messages(requests);
        Assert.Equal(("assistant", ModelReply), prompt[^1]);
        Assert.Equal(("user", "message 0"), prompt[^2]);
        Assert.Equal("system", prompt[0].Role);

        // The backend's ContinuePrefill (ContinueFinalMessage here) reached the server with the continuation only.
        var sent = OpenAI.Server.Requests[requests];
        Assert.Equal((true, false), (sent["continue_final_message"]!.GetValue<bool>(), sent["add_generation_prompt"]!.GetValue<bool>()));
        Assert.True(sent.ContainsKey("max_tokens"), "the legacy max_tokens patch is still applied with it");
        Assert.All(OpenAI.Server.Requests.Skip(firstRequest).Take(requests - firstRequest), r => Assert.False(r.ContainsKey("continue_final_message")));

        // The stored prompt says the same.
        var stored = await client.GetReplyPromptAsync(new GetReplyPromptRequest { ChatId = chat.ChatId, Seq = 3 }, cancellationToken: Ct);
        Assert.Equal(prompt, stored.Messages.Select(m => (m.Role, m.Content)));

        // History (through the cache) and Spanner hold the old text plus what was streamed, on the same candidate.
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((reply.CandidateId, ModelReply + streamed, TurnState.Complete, 1), (history.Turns[0].CandidateId, history.Turns[0].Text, history.Turns[0].State, history.Turns[0].Continuations));
        Assert.Equal((ModelReply + streamed, 1L), await StoredCandidateAsync(chat.ChatId, reply.CandidateId));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = 3", ("c", chat.ChatId)));
        Assert.Equal(2, await Fixture.CountAsync("SELECT COUNT(*) FROM ModelCalls WHERE ChatId = @c AND Seq = 3", ("c", chat.ChatId)));
        Assert.StartsWith(ModelReply, (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).LastMessagePreview);
        var listed = Assert.Single((await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = 3 }, cancellationToken: Ct)).Candidates);
        Assert.Equal((ModelReply + streamed, true), (listed.Text, listed.Primary));

        // StreamReply follows the continuation: from the start, and from within its range.
        var followed = await ReadAllAsync(client.StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = 3 }, cancellationToken: Ct));
        Assert.True(followed[0].Accepted.Continuation);
        Assert.Equal(ModelReply + streamed, followed[^1].Completed.Turn.Text);
        Assert.Equal(ModelReply + streamed, followed[0].Accepted.PendingTurns[0].Text + string.Concat(followed.Where(e => e.Delta is not null).Select(e => e.Delta.Text)));
        var resumed = await ReadAllAsync(client.StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = 3, AfterSequence = events[1].Sequence }, cancellationToken: Ct));
        Assert.Equal(events.Skip(2).Select(e => e.Sequence), resumed.Select(e => e.Sequence));

        // A repeat records nothing, calls no model and attaches to the same continuation; the id names
        // that continuation only.
        var before = await StateAsync(chat.ChatId);
        var repeat = await ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct));
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.True(repeat[0].Accepted.Continuation);
        Assert.Equal((reply.CandidateId, ModelReply + streamed), (repeat[^1].CandidateId, repeat[^1].Completed.Turn.Text));
        Assert.Equal(requests + 1, OpenAI.Server.Requests.Count);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => ReadAllAsync(client.ContinueReply(new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 2, RequestId = "continue-1" }, cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1, RequestId = "continue-1" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(before, await StateAsync(chat.ChatId));

        // A second continuation goes on from the whole text, in a range of its own.
        var second = await WithChunksAsync([" The end."], () => ReadAllAsync(client.ContinueReply(
            new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "continue-2" }, cancellationToken: Ct)));
        Assert.Equal(2 * SequenceBase + 1, second[0].Sequence);
        Assert.Equal(("assistant", ModelReply + streamed), OpenAI.Server.Messages(requests + 1)[^1]);
        Assert.Equal((ModelReply + streamed + " The end.", 2), (second[^1].Completed.Turn.Text, second[^1].Completed.Turn.Continuations));
        Assert.Equal((ModelReply + streamed + " The end.", 2L), await StoredCandidateAsync(chat.ChatId, reply.CandidateId));
    }

    [Fact]
    public async Task ARepeatedRegenerate_OfACandidateContinuedSince_FollowsTheReplyItMade_NotTheContinuation()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1 greeting, 2 "message 0", 3 the model's reply
        var client = Fixture.Client(user);
        var regenerate = new RegenerateRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "regen-then-continue" };
        var first = await ReadAllAsync(client.Regenerate(regenerate, cancellationToken: Ct));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, first[^1].EventCase);
        await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(
            new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "continue-the-regenerated" }, cancellationToken: Ct)));

        // The repeat's events are the regenerate's own (numbered from 1), not the continuation's (found by the hostile suite).
        var repeat = await ReadAllAsync(client.Regenerate(regenerate, cancellationToken: Ct));
        Assert.Equal((1L, true, false), (repeat[0].Sequence, repeat[0].Accepted.Duplicate, repeat[0].Accepted.Continuation));
        Assert.All(repeat, e => Assert.True(e.Sequence < SequenceBase, $"event {e.Sequence} is numbered as a continuation's"));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, repeat[^1].EventCase);
    }

    [Fact]
    public async Task RegenerateAndEditAndRegenerate_AfterAContinuation_StreamANewCandidateAsAFirstReply()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1 greeting, 2 "message 0", 3 the model's reply
        var client = Fixture.Client(user);
        var continued = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(
            new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "continue-then-regenerate" }, cancellationToken: Ct)));
        Assert.Equal(1, continued[^1].Completed.Turn.Continuations);

        // The new candidate is no continuation: its events start at 1, it settles at once (well within
        // the deadline, which a refused settle would only pass after the lease expired), on one model call.
        foreach (var (name, call) in new (string, Func<DateTime, AsyncServerStreamingCall<ReplyEvent>>)[]
        {
            ("regenerate", deadline => client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "regen-after-continue" }, deadline: deadline, cancellationToken: Ct)),
            ("edit", deadline => client.EditAndRegenerate(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "message 0, edited", RequestId = "edit-after-continue" }, deadline: deadline, cancellationToken: Ct)),
        })
        {
            var requests = OpenAI.Server.Requests.Count;
            var events = await ReadAllAsync(call(DateTime.UtcNow.AddSeconds(20)));
            var accepted = events[0];
            Assert.Equal((false, 1L, 0), (accepted.Accepted.Continuation, accepted.Sequence, accepted.Accepted.PendingTurns[0].Continuations));
            Assert.All(events, e => Assert.True(e.Sequence < SequenceBase, name));
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
            var completed = events[^1].Completed.Turn;
            Assert.Equal((ModelReply, TurnState.Complete, 0), (completed.Text, completed.State, completed.Continuations));
            Assert.NotEqual(continued[^1].CandidateId, completed.CandidateId);
            Assert.Equal(requests + 1, OpenAI.Server.Requests.Count);
            Assert.Equal((ModelReply, 0L), await StoredCandidateAsync(chat.ChatId, completed.CandidateId));
        }

        // The continued candidate keeps its text and number.
        Assert.Equal((ModelReply + string.Concat(MoreChunks), 1L), await StoredCandidateAsync(chat.ChatId, continued[^1].CandidateId));
    }

    [Fact]
    public async Task RepeatedContinueReply_AcceptedTextAndDeltasAddUpToTheFinalText_AfterAndDuringGeneration()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "repeat-settled" };
        var first = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct)));
        var final = ModelReply + string.Concat(MoreChunks);
        Assert.Equal(final, first[^1].Completed.Turn.Text);
        Assert.Equal(final, ShownText(first));

        // After it settled: the repeat's Accepted shows the text the continuation began from.
        var repeat = await ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct));
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.Equal((ModelReply, final), (repeat[0].Accepted.PendingTurns[0].Text, repeat[^1].Completed.Turn.Text));
        Assert.Equal(final, ShownText(repeat));

        // While the continuation's log is there the repeat follows it: its events are the first call's, number for
        // number, so a caller that mixes the repeat's stream with a StreamReply resume never gets text twice.
        Assert.Equal(
            first.Skip(1).Select(e => (e.Sequence, e.EventCase)),
            repeat.Skip(1).Select(e => (e.Sequence, e.EventCase)));

        // The cache holds the candidate as stored (its own count, its whole text).
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((final, 1, TurnState.Complete), (history.Turns[0].Text, history.Turns[0].Continuations, history.Turns[0].State));

        // A second continuation, repeated while it generates and again after: the same sum each time. The model's
        // stream is held after its first chunk until the repeat is accepted, so the repeat comes part-way through
        // the stream (text streamed, more to come) however slow the machine.
        var second = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "repeat-generating" };
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        OpenAI.Server.NextChunksGate = gate.Task;
        try
        {
            using var call = client.ContinueReply(second, cancellationToken: Ct);
            List<ReplyEvent> original = [];
            while (original is [] or [.., { EventCase: not ReplyEvent.EventOneofCase.Delta }])
            {
                Assert.True(await call.ResponseStream.MoveNext(Ct), "the continuation ended before its first delta");
                original.Add(call.ResponseStream.Current);
            }

            using var repeated = client.ContinueReply(second, cancellationToken: Ct);
            Assert.True(await repeated.ResponseStream.MoveNext(Ct));
            List<ReplyEvent> whileGenerating = [repeated.ResponseStream.Current];
            Assert.True(whileGenerating[0].Accepted.Duplicate);
            gate.SetResult();
            whileGenerating.AddRange(await repeated.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct));
            original.AddRange(await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct));
            var whole = whileGenerating[^1].Completed.Turn.Text;
            Assert.StartsWith(final, whole);
            Assert.NotEqual(final, whole);
            Assert.Equal((final, whole), (whileGenerating[0].Accepted.PendingTurns[0].Text, ShownText(whileGenerating)));
            Assert.Equal((whole, whole), (original[^1].Completed.Turn.Text, ShownText(original)));
        }
        finally
        {
            gate.TrySetResult();
            OpenAI.Server.NextChunksGate = null;
        }

        var after = await ReadAllAsync(client.ContinueReply(second, cancellationToken: Ct));
        Assert.Equal((final, after[^1].Completed.Turn.Text), (after[0].Accepted.PendingTurns[0].Text, ShownText(after)));
        Assert.Equal(2, after[^1].Completed.Turn.Continuations);
    }

    [Fact]
    public async Task RepeatedContinueReply_AfterItsLogExpired_ReturnsTheStoredResult_WithoutASecondAppend()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "repeat-expired" };
        var first = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct)));
        var final = ModelReply + string.Concat(MoreChunks);
        var candidateId = first[^1].CandidateId;
        Assert.Equal(final, first[^1].Completed.Turn.Text);

        // The continuation's log (and the reply's own) expire, as Dispatch:LogRetention lets them: here by hand, once
        // each holds its final event (the writer appends it after the caller has it; a log deleted before that is
        // written again whole, and the repeat would follow it instead of replaying from storage).
        var redis = Fixture.Service<StackExchange.Redis.IConnectionMultiplexer>().GetDatabase();
        var log = $"chat:{{{chat.ChatId}}}:r:3:{candidateId}:c1";
        Assert.True(await redis.DeleteWhenEndedAsync(log, Ct), "the continuation's log was not there to expire");
        await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:3:{candidateId}", Ct);
        var requests = OpenAI.Server.Requests.Count;

        var repeat = await ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct));

        // Replayed from storage: the log was not there to follow (nor written again).
        Assert.False(await redis.KeyExistsAsync(log), "the continuation's log was there for the repeat to follow");

        // The Accepted text and the deltas add up to the stored text once; nothing is generated or stored again.
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.Equal((ModelReply, final), (repeat[0].Accepted.PendingTurns[0].Text, repeat[^1].Completed.Turn.Text));
        Assert.Equal(final, ShownText(repeat));
        Assert.Equal(string.Concat(MoreChunks), string.Concat(repeat.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text)));
        Assert.Equal(requests, OpenAI.Server.Requests.Count);
        Assert.Equal((final, 1L), await StoredCandidateAsync(chat.ChatId, candidateId));
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((final, 1), (history.Turns[0].Text, history.Turns[0].Continuations));
    }

    /// <summary>The text a client shows from a reply's events: its Accepted text, then the deltas (a Restarted starts them over).</summary>
    private static string ShownText(IEnumerable<ReplyEvent> events)
    {
        var list = events.ToList();
        var text = new System.Text.StringBuilder(list[0].Accepted.PendingTurns[0].Text);
        var start = text.Length;
        foreach (var e in list)
        {
            if (e.EventCase == ReplyEvent.EventOneofCase.Restarted)
            {
                text.Length = start;
            }
            else if (e.EventCase == ReplyEvent.EventOneofCase.Delta)
            {
                text.Append(e.Delta.Text);
            }
        }

        return text.ToString();
    }

    [Fact]
    public async Task AContinuationThatFailsWithoutAddingText_LeavesTheReplyAsItWas_AndItsStreamSaysItFailed()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var candidateId = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0].CandidateId;

        // The model's stream breaks before its first chunk, on every attempt.
        OpenAI.Server.AbortAfterChunks = 0;
        List<ReplyEvent> failed;
        try
        {
            failed = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(
                new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "broken-at-once" }, cancellationToken: Ct)));
        }
        finally
        {
            OpenAI.Server.AbortAfterChunks = null;
        }

        // The stream reports the continuation's failure; the reply keeps its text and stays complete, without a failure.
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed[^1].EventCase);
        Assert.NotEqual("", failed[^1].Failed.Code);
        Assert.Equal((ModelReply, TurnState.Complete, 1), (failed[^1].Failed.Turn.Text, failed[^1].Failed.Turn.State, failed[^1].Failed.Turn.Continuations));
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT State, Text, FailureCode, FailureReason FROM Candidates WHERE ChatId = @c AND CandidateId = @id").Add("c", chat.ChatId).Add("id", candidateId), cancellationToken: Ct);
        var row = Assert.Single(rows);
        Assert.Equal((3L, ModelReply, (string?)null, (string?)null),
            (row.Get<long>("State"), row.Get<string>("Text"), row.Get<string?>("FailureCode"), row.Get<string?>("FailureReason")));
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((ModelReply, TurnState.Complete, ""), (history.Turns[0].Text, history.Turns[0].State, history.Turns[0].FailureReason));

        // It can be continued again, and that continuation appends as usual.
        var again = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(
            new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "after-the-break" }, cancellationToken: Ct)));
        Assert.Equal((ModelReply + string.Concat(MoreChunks), 2), (again[^1].Completed.Turn.Text, again[^1].Completed.Turn.Continuations));
    }

    [Fact]
    public async Task ContinueReply_FailedOrCancelled_KeepsTheOldTextAndWhatWasAppended()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var candidateId = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0].CandidateId;

        // The model's stream breaks after two chunks: the continuation fails with those appended.
        OpenAI.Server.AbortAfterChunks = 2;
        List<ReplyEvent> failed;
        try
        {
            failed = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(
                new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "broken" }, cancellationToken: Ct)));
        }
        finally
        {
            OpenAI.Server.AbortAfterChunks = null;
        }

        var partial = ModelReply + MoreChunks[0] + MoreChunks[1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed[^1].EventCase);
        Assert.Equal((partial, TurnState.Failed), (failed[^1].Failed.Turn.Text, failed[^1].Failed.Turn.State));
        Assert.Equal((partial, 1L), await StoredCandidateAsync(chat.ChatId, candidateId));

        // Cancelled before the model wrote anything: the text stays as it was.
        OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        try
        {
            using var call = client.ContinueReply(new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "stopped" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Equal(partial, call.ResponseStream.Current.Accepted.PendingTurns[0].Text);

            // While it is generating it cannot be continued again (nor edited).
            await AssertStatusAsync(StatusCode.FailedPrecondition,
                () => ReadAllAsync(client.ContinueReply(new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "again" }, cancellationToken: Ct)));
            await AssertStatusAsync(StatusCode.FailedPrecondition,
                () => client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "x" }, cancellationToken: Ct).ResponseAsync);

            var cancelled = await client.CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = 3 }, cancellationToken: Ct);
            Assert.Equal((partial, TurnState.Cancelled, candidateId, 2), (cancelled.Text, cancelled.State, cancelled.CandidateId, cancelled.Continuations));
            var rest = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal(ReplyEvent.EventOneofCase.Failed, rest[^1].EventCase);
            Assert.Equal((partial, "CANCELLED"), (rest[^1].Failed.Turn.Text, rest[^1].Failed.Code));
        }
        finally
        {
            OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        Assert.Equal((partial, 2L), await StoredCandidateAsync(chat.ChatId, candidateId));
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((partial, TurnState.Cancelled), (history.Turns[0].Text, history.Turns[0].State));
    }

    [Fact]
    public async Task BadContinuations_AreRefusedAndWriteNothing()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1 greeting, 2/3, 4/5
        var client = Fixture.Client(user);
        var requests = OpenAI.Server.Requests.Count;
        var before = await StateAsync(chat.ChatId);
        ContinueReplyRequest Continue(long seq, string requestId = "c-1", string? chatId = null) => new() { ChatId = chatId ?? chat.ChatId, Seq = seq, RequestId = requestId };

        // Malformed requests name their field.
        Assert.Equal("seq", FieldOf(await AssertStatusAsync(StatusCode.InvalidArgument, () => ReadAllAsync(client.ContinueReply(Continue(0), cancellationToken: Ct)))));
        Assert.Equal("chat_id", FieldOf(await AssertStatusAsync(StatusCode.InvalidArgument, () => ReadAllAsync(client.ContinueReply(Continue(5, chatId: "nope"), cancellationToken: Ct)))));
        Assert.Equal("request_id", FieldOf(await AssertStatusAsync(StatusCode.InvalidArgument, () => ReadAllAsync(client.ContinueReply(Continue(5, "not valid"), cancellationToken: Ct)))));

        // Missing turns, and another user's chat, do not exist.
        await AssertStatusAsync(StatusCode.NotFound, () => ReadAllAsync(client.ContinueReply(Continue(42), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.NotFound, () => ReadAllAsync(Fixture.Client(TestUsers.New()).ContinueReply(Continue(5), cancellationToken: Ct)));

        // Only the last shown turn, a character's, can be continued.
        var notLast = await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(3), cancellationToken: Ct)));
        Assert.Contains("not the chat's last turn", notLast.Status.Detail);
        var userTurn = await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(4), cancellationToken: Ct)));
        Assert.Contains("user turn", userTurn.Status.Detail);
        Assert.Equal(before, await StateAsync(chat.ChatId));

        // A deleted reply is refused; with it gone, the last shown turn is a user turn.
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 5 } }, cancellationToken: Ct);
        var hidden = await StateAsync(chat.ChatId);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(5), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(4), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(3), cancellationToken: Ct)));
        Assert.Equal(hidden, await StateAsync(chat.ChatId));

        // A reply cancelled before it had any text has nothing to continue.
        OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        try
        {
            using var call = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "tell me more" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            var replySeq = call.ResponseStream.Current.Accepted.PendingTurns[0].Seq;
            var generating = await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(replySeq), cancellationToken: Ct)));
            Assert.Contains("still being generated", generating.Status.Detail);
            await client.CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = replySeq }, cancellationToken: Ct);
            var empty = await StateAsync(chat.ChatId);
            var noText = await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.ContinueReply(Continue(replySeq), cancellationToken: Ct)));
            Assert.Contains("no text", noText.Status.Detail);
            Assert.Equal(empty, await StateAsync(chat.ChatId));
        }
        finally
        {
            OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatOperations WHERE ChatId = @c AND Kind = 'continue'", ("c", chat.ChatId)));
        // At most the cancelled send's (whether it reached the server before the cancel is a race), and no continuation's.
        var sent = OpenAI.Server.Requests.Count;
        Assert.InRange(sent, requests, requests + 1);
        Assert.All(Enumerable.Range(requests, sent - requests), i => Assert.NotEqual("assistant", OpenAI.Server.Messages(i)[^1].Role));
    }

    private async Task<List<ReplyEvent>> WithChunksAsync(string[] chunks, Func<Task<List<ReplyEvent>>> call)
    {
        var original = OpenAI.Server.ReplyChunks;
        OpenAI.Server.ReplyChunks = chunks;
        try
        {
            return await call();
        }
        finally
        {
            OpenAI.Server.ReplyChunks = original;
        }
    }

    /// <summary>The candidate's text and continuation count as Spanner holds them.</summary>
    private async Task<(string Text, long Continuations)> StoredCandidateAsync(string chatId, string candidateId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT Text, IFNULL(Continuations, 0) AS Continuations FROM Candidates WHERE ChatId = @c AND CandidateId = @id")
            .Add("c", chatId).Add("id", candidateId));
        return (rows[0].Get<string>("Text"), rows[0].Get<long>("Continuations"));
    }

    /// <summary>Everything a continuation could change: row counts, the chat's operations, its turns and candidates as stored, and its preview.</summary>
    private async Task<string> StateAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            """
            SELECT c.Seq, c.CandidateId, c.State, c.Text, c.Continuations, c.OwedShard, c.UpdateTime, t.UpdateTime AS TurnTime
            FROM Candidates c JOIN Turns t ON t.ChatId = c.ChatId AND t.Seq = c.Seq
            WHERE c.ChatId = @c ORDER BY c.Seq, c.CandidateId
            """).Add("c", chatId));
        var chat = await Fixture.Database.QueryListAsync(new SpannerStatement("SELECT LastMessagePreview FROM Chats WHERE ChatId = @c").Add("c", chatId));
        return string.Join("\n", [
            await Fixture.SnapshotAsync(),
            $"ChatOperations={await Fixture.CountAsync("SELECT COUNT(*) FROM ChatOperations WHERE ChatId = @c", ("c", chatId))}",
            $"preview={chat[0].Get<string>("LastMessagePreview")}",
            .. rows.Select(r =>
                $"{r.Get<long>("Seq")} {r.Get<string>("CandidateId")} {r.Get<long>("State")} {r.Get<string?>("Text")} {r.Get<long?>("Continuations")} " +
                $"{r.Get<long?>("OwedShard")} {r.Get<DateTimeOffset>("UpdateTime"):O} {r.Get<DateTimeOffset>("TurnTime"):O}"),
        ]);
    }
}
