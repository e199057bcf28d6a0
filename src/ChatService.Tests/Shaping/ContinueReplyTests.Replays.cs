using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Shaping;

/// <summary>Continuations replayed: repeats of an earlier continuation, undone continuations, and what a repeat reads of its log.</summary>
public sealed partial class ContinueReplyTests
{
    [Fact]
    public async Task ARepeatOfAnEarlierContinuation_AfterItsLogExpired_NeverGivesTextTwice_SettledOrWhileALaterOneRuns()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var early = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "early" };
        var first = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(early, cancellationToken: Ct)));
        var candidateId = first[^1].CandidateId;
        var later = await WithChunksAsync([" The end."], () => ReadAllAsync(client.ContinueReply(
            new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "later" }, cancellationToken: Ct)));
        var whole = ModelReply + string.Concat(MoreChunks) + " The end.";
        Assert.Equal((whole, 2), (later[^1].Completed.Turn.Text, later[^1].Completed.Turn.Continuations));

        // The earlier continuation's log expires (Dispatch:LogRetention; here by hand).
        var redis = Fixture.Service<StackExchange.Redis.IConnectionMultiplexer>().GetDatabase();
        Assert.True(await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:3:{candidateId}:c1", Ct), "the earlier continuation's log was not there to expire");
        var requests = OpenAI.Server.Requests.Count;

        // Its repeat: Accepted with the text it began from, then everything the candidate holds past it, once.
        var repeat = await ReadAllAsync(client.ContinueReply(early, cancellationToken: Ct));
        Assert.Equal((true, true, ModelReply), (repeat[0].Accepted.Duplicate, repeat[0].Accepted.Continuation, repeat[0].Accepted.PendingTurns[0].Text));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, repeat[^1].EventCase);
        Assert.Equal((whole, whole), (repeat[^1].Completed.Turn.Text, ShownText(repeat)));
        Assert.All(repeat, e => Assert.InRange(e.Sequence, SequenceBase + 1, 2 * SequenceBase - 1)); // numbered as that continuation's
        Assert.Equal(requests, OpenAI.Server.Requests.Count);

        // While a third continuation runs (the model's stream held until the repeat is answered): the candidate as the
        // earlier ones left it (its text, state and continuations before the third).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        OpenAI.Server.FirstChunkGate = gate.Task;
        try
        {
            using var running = client.ContinueReply(new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "running" }, cancellationToken: Ct);
            Assert.True(await running.ResponseStream.MoveNext(Ct));
            Assert.Equal(3, running.ResponseStream.Current.Accepted.PendingTurns[0].Continuations);
            var during = await ReadAllAsync(client.ContinueReply(early, cancellationToken: Ct));
            Assert.Equal(ModelReply, during[0].Accepted.PendingTurns[0].Text);
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, during[^1].EventCase);
            Assert.Equal((whole, whole, TurnState.Complete, 2), (during[^1].Completed.Turn.Text, ShownText(during), during[^1].Completed.Turn.State, during[^1].Completed.Turn.Continuations));
            gate.SetResult();
            var rest = await running.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, rest[^1].EventCase);
        }
        finally
        {
            gate.TrySetResult();
            OpenAI.Server.FirstChunkGate = null;
        }
    }

    [Fact]
    public async Task AnUndoneContinuation_ReplayedFromStorage_EndsFailedAsItsStreamDid()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "undone" };

        // The model's stream breaks before its first chunk, on every attempt: the continuation adds nothing and is undone.
        OpenAI.Server.AbortAfterChunks = 0;
        List<ReplyEvent> live;
        try
        {
            live = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct)));
        }
        finally
        {
            OpenAI.Server.AbortAfterChunks = null;
        }

        var failed = live[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, failed.EventCase);
        Assert.Equal((ModelReply, TurnState.Complete), (failed.Failed.Turn.Text, failed.Failed.Turn.State));

        // Its log (and the reply's own) expire: a repeat replays it from storage, and ends as it did (StoredReplyStreamTests
        // has StreamReply's replay: here the finished stream is still held in memory, which StreamReply would follow).
        var redis = Fixture.Service<StackExchange.Redis.IConnectionMultiplexer>().GetDatabase();
        Assert.True(await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:3:{failed.CandidateId}:c1", Ct), "the continuation's log was not there to expire");
        await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:3:{failed.CandidateId}", Ct);
        var replay = await ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct));
        var end = replay[^1];
        Assert.True(end.EventCase == ReplyEvent.EventOneofCase.Failed, $"the replay ended {end.EventCase}, its stream ended Failed");
        Assert.Equal((failed.Failed.Code, failed.Failed.Reason), (end.Failed.Code, end.Failed.Reason));
        Assert.Equal((ModelReply, TurnState.Complete, 1), (end.Failed.Turn.Text, end.Failed.Turn.State, end.Failed.Turn.Continuations));
        Assert.Equal(ModelReply, ShownText(replay));

        // The next continuation is not undone: its repeat's replay ends as it did, completed, and the earlier one's
        // (an earlier continuation's replay ends as the candidate is now) no longer ends failed.
        var again = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "after-undone" };
        var next = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(again, cancellationToken: Ct)));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, next[^1].EventCase);
        Assert.True(await redis.DeleteWhenEndedAsync($"chat:{{{chat.ChatId}}}:r:3:{failed.CandidateId}:c2", Ct), "the second continuation's log was not there to expire");
        foreach (var repeated in new[] { again, request })
        {
            var events = await ReadAllAsync(client.ContinueReply(repeated, cancellationToken: Ct));
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
            Assert.Equal((ModelReply + string.Concat(MoreChunks), ModelReply + string.Concat(MoreChunks)), (events[^1].Completed.Turn.Text, ShownText(events)));
        }
    }

    [Fact]
    public async Task ARepeatedContinueReply_TellsItsLogIsThereFromItsFirstEntry_AndReadsItWholeOnceAtMost()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var request = new ContinueReplyRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "read-once" };
        var first = await WithChunksAsync(MoreChunks, () => ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct)));
        var key = new ReplyKey(chat.ChatId, 3, first[^1].CandidateId, 1);
        var (whole, entries) = (OpenAI.LogReads.Whole(key), OpenAI.LogReads.First(key));

        var repeat = await ReadAllAsync(client.ContinueReply(request, cancellationToken: Ct));

        // Followed from its log (the same events, number for number); whether the log is there took one entry to tell.
        Assert.Equal(first.Skip(1).Select(e => (e.Sequence, e.EventCase)), repeat.Skip(1).Select(e => (e.Sequence, e.EventCase)));
        Assert.Equal(1, OpenAI.LogReads.First(key) - entries);
        Assert.InRange(OpenAI.LogReads.Whole(key) - whole, 0, 1);
    }
}
