using ChatService.Api.V1;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Shaping;

/// <summary>ListCandidates: every candidate of a character turn, as selecting, rating, editing and hiding leave it, against the emulator.</summary>
public sealed class ListCandidatesTests(OpenAIBackedFixture fixture) : ShapingTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    /// <summary>What the fake OpenAI-compatible server answers every prompt with, unless a test says otherwise.</summary>
    private const string ModelReply = "Ahoy, matey! The treasure is under the palm.";

    [Fact]
    public async Task ListCandidates_AfterTwoRegenerations_ShowsAllThreeOldestFirst_AsSelectingRatingAndEditingLeaveThem()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1 greeting, 2 "message 0", 3 the model's reply
        var client = Fixture.Client(user);
        var first = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0];
        var second = await RegenerateWithAsync(client, chat.ChatId, 3, reply: ["Second ", "answer."]);
        var third = await RegenerateWithAsync(client, chat.ChatId, 3, failWithStatus: 400);

        var listed = await ListAsync(client, chat.ChatId, 3);

        Assert.Equal([first.CandidateId, second.CandidateId, third.CandidateId], listed.Select(c => c.CandidateId));
        Assert.Equal([ModelReply, "Second answer.", ""], listed.Select(c => c.Text));
        Assert.Equal([TurnState.Complete, TurnState.Complete, TurnState.Failed], listed.Select(c => c.State));
        Assert.Equal(["", ""], listed.Take(2).Select(c => c.FailureReason));
        Assert.NotEmpty(listed[2].FailureReason);
        Assert.Equal([false, false, true], listed.Select(c => c.Primary));
        Assert.True(listed[0].CreateTime.ToDateTimeOffset() < listed[1].CreateTime.ToDateTimeOffset());
        Assert.True(listed[1].CreateTime.ToDateTimeOffset() < listed[2].CreateTime.ToDateTimeOffset());
        Assert.All(listed, c => Assert.Null(c.Rating));
        Assert.All(listed, c => Assert.False(c.Edited));

        // The primary flag moves with SelectCandidate; history shows the same candidate.
        await client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = 3, CandidateId = first.CandidateId }, cancellationToken: Ct);
        listed = await ListAsync(client, chat.ChatId, 3);
        Assert.Equal([true, false, false], listed.Select(c => c.Primary));
        var shown = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0];
        Assert.Equal((first.CandidateId, ModelReply, 3), (shown.CandidateId, shown.Text, shown.CandidateCount));

        // A rating belongs to the candidate rated, primary or not.
        var rating = await client.RateCandidateAsync(
            new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, CandidateId = second.CandidateId, Stars = 2, Tags = { "too_short" }, Comment = "Meh." },
            cancellationToken: Ct);
        listed = await ListAsync(client, chat.ChatId, 3);
        Assert.Equal(new Rating?[] { null, rating, null }, listed.Select(c => c.Rating));

        // An edit changes the primary candidate's text and marks it edited; the others keep theirs.
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "An edited answer.", RequestId = "edit-1" }, cancellationToken: Ct);
        listed = await ListAsync(client, chat.ChatId, 3);
        Assert.Equal([("An edited answer.", true), ("Second answer.", false), ("", false)], listed.Select(c => (c.Text, c.Edited)));
        Assert.Equal([true, false, false], listed.Select(c => c.Primary));
        Assert.Equal([first.CandidateId, second.CandidateId, third.CandidateId], listed.Select(c => c.CandidateId));
    }

    [Fact]
    public async Task ListCandidates_OfAGreetingAndOfAReplyBeingGenerated_ShowTheirOneCandidate()
    {
        var (user, chat) = await ChatWithExchangesAsync(0); // 1 greeting
        var client = Fixture.Client(user);

        var greeting = Assert.Single(await ListAsync(client, chat.ChatId, 1));
        Assert.Equal(("Hello there!", TurnState.Complete, true), (greeting.Text, greeting.State, greeting.Primary));

        Turn pending;
        OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        try
        {
            using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "tell me a long story" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            pending = call.ResponseStream.Current.Accepted.PendingTurns[0];

            var generating = Assert.Single(await ListAsync(client, chat.ChatId, pending.Seq));

            Assert.Equal((pending.CandidateId, "", true), (generating.CandidateId, generating.Text, generating.Primary));
            Assert.Contains(generating.State, new[] { TurnState.Pending, TurnState.Streaming });
            await client.CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = pending.Seq }, cancellationToken: Ct);
        }
        finally
        {
            OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        Assert.Equal(TurnState.Cancelled, Assert.Single(await ListAsync(client, chat.ChatId, pending.Seq)).State);
    }

    [Fact]
    public async Task ListCandidates_OfAUserTurnAMissingTurnAnotherUsersChatOrBadInput_IsRefused_AndWritesNothing()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ListAsync(client, chat.ChatId, 2)); // a user turn
        await AssertStatusAsync(StatusCode.NotFound, () => ListAsync(client, chat.ChatId, 42));
        await AssertStatusAsync(StatusCode.NotFound, () => ListAsync(client, chat.ChatId, long.MaxValue));
        await AssertStatusAsync(StatusCode.NotFound, () => ListAsync(client, Guid.NewGuid().ToString(), 3));
        var stranger = Fixture.Client(TestUsers.New());
        await AssertStatusAsync(StatusCode.NotFound, () => ListAsync(stranger, chat.ChatId, 3));
        await AssertStatusAsync(StatusCode.NotFound, () => ListAsync(stranger, chat.ChatId, 42));
        foreach (var (chatId, seq, field) in new[] { (chat.ChatId, 0L, "seq"), (chat.ChatId, -1L, "seq"), ("not-an-id", 3L, "chat_id"), ("", 3L, "chat_id") })
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => ListAsync(client, chatId, seq));
            Assert.Equal(field, FieldOf(ex));
        }

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task ListCandidates_OfAHiddenTurn_IsFailedPrecondition_AsSelectingOrRatingIt_UntilRestored()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1-5
        var client = Fixture.Client(user);
        var replies = new Dictionary<long, Candidate>
        {
            [3] = Assert.Single(await ListAsync(client, chat.ChatId, 3)),
            [5] = Assert.Single(await ListAsync(client, chat.ChatId, 5)),
        };

        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 5 } }, cancellationToken: Ct);
        await client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 2 }, cancellationToken: Ct);

        foreach (var (seq, reply) in replies)
        {
            var ex = await AssertStatusAsync(StatusCode.FailedPrecondition, () => ListAsync(client, chat.ChatId, seq));
            Assert.Contains("RestoreTurns", ex.Status.Detail);
            await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.SelectCandidateAsync(
                new SelectCandidateRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = reply.CandidateId }, cancellationToken: Ct).ResponseAsync);
            await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.RateCandidateAsync(
                new RateCandidateRequest { ChatId = chat.ChatId, Seq = seq, CandidateId = reply.CandidateId, Stars = 3 }, cancellationToken: Ct).ResponseAsync);
        }

        await client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { 3, 4, 5 } }, cancellationToken: Ct);
        Assert.Equal(replies[5], Assert.Single(await ListAsync(client, chat.ChatId, 5)));
        Assert.Equal(replies[3], Assert.Single(await ListAsync(client, chat.ChatId, 3)));
    }

    private static async Task<List<Candidate>> ListAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq) =>
        [.. (await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct)).Candidates];

    /// <summary>
    /// Regenerates the turn with the fake server answering <paramref name="reply"/> (or failing with
    /// <paramref name="failWithStatus"/>), reads the stream to its end and returns the new candidate as it settled.
    /// </summary>
    private async Task<Turn> RegenerateWithAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq,
        string[]? reply = null, int? failWithStatus = null)
    {
        var usual = OpenAI.Server.ReplyChunks;
        OpenAI.Server.ReplyChunks = reply ?? usual;
        OpenAI.Server.FailWithStatus = failWithStatus;
        try
        {
            using var call = client.Regenerate(new RegenerateRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);
            var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            return events[^1].EventCase == ReplyEvent.EventOneofCase.Completed ? events[^1].Completed.Turn : events[^1].Failed.Turn;
        }
        finally
        {
            OpenAI.Server.ReplyChunks = usual;
            OpenAI.Server.FailWithStatus = null;
        }
    }
}
