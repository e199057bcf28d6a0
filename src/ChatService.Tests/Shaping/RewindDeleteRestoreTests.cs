using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Shaping;

/// <summary>Rewinding, deleting and restoring turns, through the cache, against the emulator and the Redis Cluster.</summary>
public sealed class RewindDeleteRestoreTests(OpenAIBackedFixture fixture) : ShapingTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    [Fact]
    public async Task Rewind_HidesLaterTurns_AndTheNextMessageContinuesFromIt()
    {
        var (user, chat) = await ChatWithExchangesAsync(3); // 1 greeting, 2-7 three exchanges
        var client = Fixture.Client(user);
        await HistorySeqsAsync(client, chat.ChatId); // the window is cached

        var rewound = await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 2, RequestId = "rewind-1" }, cancellationToken: Ct);

        Assert.Equal([3L, 4, 5, 6, 7], rewound.HiddenSeqs);
        Assert.Equal([2L, 1], await HistorySeqsAsync(client, chat.ChatId));
        Assert.Equal([2L, 1], await StoredShownSeqsAsync(chat.ChatId));
        Assert.Equal(5, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND HiddenTime IS NOT NULL AND HiddenReason = 1", ("c", chat.ChatId)));
        Assert.Equal("message 0", (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).LastMessagePreview);

        // Numbers keep growing; the prompt of the next reply has none of the rewound turns.
        var before = OpenAI.Server.Requests.Count;
        var events = await SendAsync(user, chat.ChatId, "after the rewind");
        Assert.Equal(8, events[0].Accepted.UserTurn.Seq);
        Assert.Equal([9L, 8, 2, 1], await HistorySeqsAsync(client, chat.ChatId));
        var prompt = OpenAI.Server.Messages(before);
        Assert.Contains(prompt, m => m.Content == "message 0");
        Assert.Contains(prompt, m => m.Content == "after the rewind");
        Assert.DoesNotContain(prompt, m => m.Content is "message 1" or "message 2" || m.Content.Contains("treasure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rewind_IsIdempotentOnItsRequestId_AndNeverHidesWhatCameAfter()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1-5
        var client = Fixture.Client(user);
        await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 3, RequestId = "same" }, cancellationToken: Ct);
        await SendAsync(user, chat.ChatId, "new message"); // 6, 7

        var repeat = await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 3, RequestId = "same" }, cancellationToken: Ct);

        Assert.Empty(repeat.HiddenSeqs);
        Assert.Equal([7L, 6, 3, 2, 1], await HistorySeqsAsync(client, chat.ChatId));

        // A late repeat does not undo a restore made since.
        await client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { 4 } }, cancellationToken: Ct);
        Assert.Empty((await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 3, RequestId = "same" }, cancellationToken: Ct)).HiddenSeqs);
        Assert.Equal([7L, 6, 4, 3, 2, 1], await HistorySeqsAsync(client, chat.ChatId));
        // A send retried after its turns were rewound says they are hidden.
        var first = await SendAsync(user, chat.ChatId, "retried later", requestId: "send-late");
        await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 7 }, cancellationToken: Ct);
        var retried = await SendAsync(user, chat.ChatId, "retried later", requestId: "send-late");
        Assert.False(first[0].Accepted.UserTurn.Hidden);
        Assert.True(retried[0].Accepted.Duplicate);
        Assert.True(retried[0].Accepted.UserTurn.Hidden);
        Assert.All(retried[0].Accepted.PendingTurns, t => Assert.True(t.Hidden));

        // The same id for another operation on the chat is refused.
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1, RequestId = "same" }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task Rewind_DuringAGeneratingReply_CancelsIt_AndShowsNothingAfterTheTurn()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Slow", Persona = "Slow.", Greeting = "Hi.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, character);
        OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        try
        {
            using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "tell me a long story" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            Assert.Equal(ReplyEvent.EventOneofCase.Accepted, call.ResponseStream.Current.EventCase);

            var rewound = await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1 }, cancellationToken: Ct);

            Assert.Equal([2L, 3], rewound.HiddenSeqs);
            var rest = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal(ReplyEvent.EventOneofCase.Failed, rest[^1].EventCase);
            Assert.Equal("CANCELLED", rest[^1].Failed.Code);
        }
        finally
        {
            OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND (OwedShard IS NOT NULL OR State IN (1, 2))", ("c", chat.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND Seq > 1 AND HiddenTime IS NULL", ("c", chat.ChatId)));
        Assert.Equal([1L], await HistorySeqsAsync(client, chat.ChatId));
    }

    [Fact]
    public async Task DeleteThenRestore_HidesAndShowsTheSameTurns()
    {
        var (user, chat) = await ChatWithExchangesAsync(3); // 1-7
        var client = Fixture.Client(user);
        var original = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);

        var deleted = await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 4, 5, 7 } }, cancellationToken: Ct);
        Assert.Equal([4L, 5, 7], deleted.HiddenSeqs);
        Assert.Equal([6L, 3, 2, 1], await HistorySeqsAsync(client, chat.ChatId));
        Assert.Equal([6L, 3, 2, 1], await StoredShownSeqsAsync(chat.ChatId));
        // Deleting again changes nothing.
        Assert.Empty((await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 4 } }, cancellationToken: Ct)).HiddenSeqs);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.RegenerateAsync(chat.ChatId, 5));

        var restored = await client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { 7, 4, 6 } }, cancellationToken: Ct);

        Assert.Equal([4L, 7], restored.RestoredSeqs);
        Assert.Equal([7L, 6, 4, 3, 2, 1], await HistorySeqsAsync(client, chat.ChatId));
        var after = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(original.Turns.Where(t => t.Seq != 5).Select(t => (t.Seq, t.Text, t.CandidateId)), after.Turns.Select(t => (t.Seq, t.Text, t.CandidateId)));
    }

    [Fact]
    public async Task BadRequests_AreRefusedAndChangeNothing()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 2 } }, cancellationToken: Ct);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 0 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 99 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 2 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 1, 1 } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { Enumerable.Range(1, 101).Select(i => (long)i) } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 1, 42 } }, cancellationToken: Ct).ResponseAsync);
        var stranger = Fixture.Client(TestUsers.New());
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { 2 } }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    private static async Task<List<long>> HistorySeqsAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId) =>
        [.. (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct)).Turns.Select(t => t.Seq)];

    private async Task<List<long>> StoredShownSeqsAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(
            new global::Spanner.Client.SpannerStatement("SELECT Seq FROM Turns WHERE ChatId = @c AND HiddenTime IS NULL ORDER BY Seq DESC").Add("c", chatId));
        return [.. rows.Select(r => r.Get<long>("Seq"))];
    }
}

internal static class RegenerateCalls
{
    /// <summary>Regenerate, read to its first event (a refusal surfaces as the call's status).</summary>
    public static async Task RegenerateAsync(this ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq)
    {
        using var call = client.Regenerate(new RegenerateRequest { ChatId = chatId, Seq = seq }, cancellationToken: TestContext.Current.CancellationToken);
        await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken);
    }
}
