using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Shaping;

/// <summary>Editing turns (EditTurn, EditAndRegenerate) and their revisions, through the cache, against the emulator and the Redis Cluster.</summary>
public sealed class EditTurnTests(OpenAIBackedFixture fixture) : ShapingTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    /// <summary>What the fake OpenAI-compatible server answers every prompt with.</summary>
    private const string ModelReply = "Ahoy, matey! The treasure is under the palm.";

    [Fact]
    public async Task EditTurn_OfAUserTurnAndACharacterTurn_ShowsInCacheAndSpanner_AndKeepsTheEarlierTexts()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1 greeting, 2 "message 0", 3 the model's reply
        var client = Fixture.Client(user);
        var original = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct); // the window is cached
        var reply = original.Turns.Single(t => t.Seq == 3);
        Assert.Equal(ModelReply, reply.Text);
        var modelCalls = await ModelCallsAsync(chat.ChatId);
        Assert.NotEmpty(modelCalls);

        var first = await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "first edit", RequestId = "edit-1" }, cancellationToken: Ct);
        var second = await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "second edit", RequestId = "edit-2" }, cancellationToken: Ct);
        var character = await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "A better answer.", RequestId = "edit-3" }, cancellationToken: Ct);

        Assert.Equal(("first edit", true, AuthorRole.User), (first.Text, first.Edited, first.Role));
        Assert.Equal(("second edit", true), (second.Text, second.Edited));
        Assert.Equal(("A better answer.", true, reply.CandidateId, TurnState.Complete), (character.Text, character.Edited, character.CandidateId, character.State));

        // History (from the cache) and Spanner agree, and both show the edits.
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal([3L, 2, 1], history.Turns.Select(t => t.Seq));
        Assert.Equal([("A better answer.", true), ("second edit", true), ("Hello there!", false)], history.Turns.Select(t => (t.Text, t.Edited)));
        Assert.Equal(await StoredTurnsAsync(chat.ChatId), history.Turns.Select(t => (t.Seq, t.Text, t.Edited)));
        Assert.Equal(reply.CandidateCount, history.Turns[0].CandidateCount);
        Assert.Equal("A better answer.", (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).LastMessagePreview);

        // The earlier texts, oldest first; the model's own words are the character turn's first revision.
        var userRevisions = await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 2 }, cancellationToken: Ct);
        Assert.Equal([(1L, "message 0", ""), (2L, "first edit", "")], userRevisions.Revisions.Select(r => (r.Revision, r.Text, r.CandidateId)));
        Assert.True(userRevisions.Revisions[0].EditTime.ToDateTimeOffset() <= userRevisions.Revisions[1].EditTime.ToDateTimeOffset());
        var characterRevisions = await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 3 }, cancellationToken: Ct);
        Assert.Equal([(1L, ModelReply, reply.CandidateId)], characterRevisions.Revisions.Select(r => (r.Revision, r.Text, r.CandidateId)));
        Assert.Empty((await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 1 }, cancellationToken: Ct)).Revisions);

        // The model-call log is what the model did, not what the user made of it.
        Assert.Equal(modelCalls, await ModelCallsAsync(chat.ChatId));
    }

    [Fact]
    public async Task EditTurn_RepeatedRequestId_WritesNoSecondRevision_AndAnotherUseOfItIsRefused()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var edit = new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "edited once", RequestId = "same-edit" };
        var first = await client.EditTurnAsync(edit, cancellationToken: Ct);

        var repeat = await client.EditTurnAsync(edit, cancellationToken: Ct);

        Assert.Equal(first, repeat);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM TurnRevisions WHERE ChatId = @c", ("c", chat.ChatId)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatOperations WHERE ChatId = @c AND Kind = 'edit'", ("c", chat.ChatId)));

        // A repeat returns the turn as it is now: after a later edit, that one's text.
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "edited twice", RequestId = "other-edit" }, cancellationToken: Ct);
        Assert.Equal("edited twice", (await client.EditTurnAsync(edit, cancellationToken: Ct)).Text);
        Assert.Equal(2, await Fixture.CountAsync("SELECT COUNT(*) FROM TurnRevisions WHERE ChatId = @c", ("c", chat.ChatId)));

        // The same id for another text, another turn or another operation is refused, and changes nothing.
        var before = await StateAsync(chat.ChatId);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "something else", RequestId = "same-edit" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "edited once", RequestId = "same-edit" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => client.RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1, RequestId = "same-edit" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition,
            () => ReadAllAsync(client.EditAndRegenerate(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "edited once", RequestId = "same-edit" }, cancellationToken: Ct)));
        Assert.Equal(before, await StateAsync(chat.ChatId));
    }

    [Fact]
    public async Task EditAndRegenerate_StreamsANewCandidate_WhosePromptCarriesTheEditedText_AndARepeatAttachesToIt()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1 greeting, 2/3 and 4/5
        var client = Fixture.Client(user);
        var original = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns.Single(t => t.Seq == 5);
        var requests = OpenAI.Server.Requests.Count;
        var request = new EditTurnRequest { ChatId = chat.ChatId, Seq = 4, Text = "Where are the rubies?", RequestId = "edit-and-regenerate-1" };

        var events = await ReadAllAsync(client.EditAndRegenerate(request, cancellationToken: Ct));

        var accepted = events[0].Accepted;
        Assert.Equal((4L, "Where are the rubies?", true, false), (accepted.UserTurn.Seq, accepted.UserTurn.Text, accepted.UserTurn.Edited, accepted.Duplicate));
        var pending = Assert.Single(accepted.PendingTurns);
        Assert.Equal((5L, original.CandidateCount + 1, false), (pending.Seq, pending.CandidateCount, pending.Edited));
        Assert.NotEqual(original.CandidateId, pending.CandidateId);
        var completed = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, completed.EventCase);
        Assert.Equal((pending.CandidateId, ModelReply), (completed.Completed.Turn.CandidateId, completed.Completed.Turn.Text));

        // The model saw the edited text in place of the original one, after the earlier exchange.
        Assert.Equal(requests + 1, OpenAI.Server.Requests.Count);
        var prompt = OpenAI.Server.Messages(requests);
        Assert.Equal("Where are the rubies?", prompt[^1].Content);
        Assert.Contains(prompt, m => m.Content == "message 0");
        Assert.DoesNotContain(prompt, m => m.Content == "message 1");

        // History (from the cache) and Spanner show the edit and the new candidate.
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((pending.CandidateId, original.CandidateCount + 1, TurnState.Complete), (history.Turns[0].CandidateId, history.Turns[0].CandidateCount, history.Turns[0].State));
        Assert.Equal(("Where are the rubies?", true), (history.Turns[1].Text, history.Turns[1].Edited));
        Assert.Equal(await StoredTurnsAsync(chat.ChatId), history.Turns.Select(t => (t.Seq, t.Text, t.Edited)));
        var revisions = await client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 4 }, cancellationToken: Ct);
        Assert.Equal(["message 1"], revisions.Revisions.Select(r => r.Text));

        // A repeat records nothing and attaches to the same candidate.
        var before = await StateAsync(chat.ChatId);
        var repeat = await ReadAllAsync(client.EditAndRegenerate(request, cancellationToken: Ct));
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.Equal(pending.CandidateId, Assert.Single(repeat[0].Accepted.PendingTurns).CandidateId);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, repeat[^1].EventCase);
        Assert.Equal(pending.CandidateId, repeat[^1].CandidateId);
        Assert.Equal(requests + 1, OpenAI.Server.Requests.Count);
        Assert.Equal(before, await StateAsync(chat.ChatId));
    }

    [Fact]
    public async Task BadEdits_AreRefusedAndChangeNothing()
    {
        var (user, chat) = await ChatWithExchangesAsync(3); // 1 greeting, 2/3, 4/5, 6/7
        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 2 } }, cancellationToken: Ct);
        var before = await StateAsync(chat.ChatId);

        EditTurnRequest Edit(long seq, string text = "new text") => new() { ChatId = chat.ChatId, Seq = seq, Text = text };
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.EditTurnAsync(Edit(4, ""), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.EditTurnAsync(Edit(4, "  \n"), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.EditTurnAsync(Edit(4, new string('a', 8 * 1024 + 1)), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.EditTurnAsync(Edit(0), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument,
            () => client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 4, Text = "x", RequestId = "not a valid id" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, () => ReadAllAsync(client.EditAndRegenerate(Edit(6, ""), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.NotFound, () => client.EditTurnAsync(Edit(42), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 42 }, cancellationToken: Ct).ResponseAsync);

        // Hidden turns are refused until restored.
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.EditTurnAsync(Edit(2), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 2 }, cancellationToken: Ct).ResponseAsync);

        // EditAndRegenerate only edits the last user turn, and needs a reply after it.
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.EditAndRegenerate(Edit(4), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.EditAndRegenerate(Edit(7), cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.EditAndRegenerate(Edit(2), cancellationToken: Ct)));

        // Another user's chat does not exist for them.
        var stranger = Fixture.Client(TestUsers.New());
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.EditTurnAsync(Edit(4), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.ListTurnRevisionsAsync(new ListTurnRevisionsRequest { ChatId = chat.ChatId, Seq = 4 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => ReadAllAsync(stranger.EditAndRegenerate(Edit(6), cancellationToken: Ct)));

        Assert.Equal(before, await StateAsync(chat.ChatId));
    }

    [Fact]
    public async Task EditTurn_WhileItsReplyIsGenerating_IsRefusedAndChangesNothing()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(30);
        try
        {
            using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "tell me a long story" }, cancellationToken: Ct);
            Assert.True(await call.ResponseStream.MoveNext(Ct));
            var accepted = call.ResponseStream.Current.Accepted;
            Assert.Equal((4L, 5L), (accepted.UserTurn.Seq, accepted.PendingTurns[0].Seq));
            var before = await StateAsync(chat.ChatId);

            EditTurnRequest Edit(long seq) => new() { ChatId = chat.ChatId, Seq = seq, Text = "changed my mind" };
            await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.EditTurnAsync(Edit(5), cancellationToken: Ct).ResponseAsync);
            await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.EditTurnAsync(Edit(4), cancellationToken: Ct).ResponseAsync);
            await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(client.EditAndRegenerate(Edit(4), cancellationToken: Ct)));

            Assert.Equal(before, await StateAsync(chat.ChatId));
            await client.CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = 5 }, cancellationToken: Ct);
        }
        finally
        {
            OpenAI.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        // Once the reply has ended, the turn can be edited.
        var edited = await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 4, Text = "a short story, please" }, cancellationToken: Ct);
        Assert.True(edited.Edited);
    }

    [Fact]
    public void RegenerateRequestId_FitsTheColumn_AndNoClientIdCanBeIt()
    {
        var longest = new string('a', 64);
        var other = new string('a', 63) + "b";

        var derived = ChatService.Storage.ReplyLedger.RegenerateRequestId(longest);

        Assert.Equal("edit-1#e", ChatService.Storage.ReplyLedger.RegenerateRequestId("edit-1"));
        Assert.InRange(derived.Length, 1, 64);
        Assert.NotEqual(derived, ChatService.Storage.ReplyLedger.RegenerateRequestId(other));
        Assert.Contains('#', derived);
    }

    /// <summary>The chat's shown turns as Spanner holds them, newest first: a user turn's text, a character turn's primary candidate's.</summary>
    private async Task<List<(long Seq, string Text, bool Edited)>> StoredTurnsAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            """
            SELECT t.Seq, IFNULL(IF(t.AuthorRole = 1, t.Text, c.Text), '') AS Text, IFNULL(IF(t.AuthorRole = 1, t.Edited, c.Edited), FALSE) AS Edited
            FROM Turns t LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
            WHERE t.ChatId = @c AND t.HiddenTime IS NULL ORDER BY t.Seq DESC
            """).Add("c", chatId));
        return [.. rows.Select(r => (r.Get<long>("Seq"), r.Get<string>("Text"), r.Get<bool>("Edited")))];
    }

    private async Task<List<string>> ModelCallsAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT Seq, CandidateId, Attempt, Backend, Model, Outcome, FinishedTime, CompletionTokens FROM ModelCalls WHERE ChatId = @c ORDER BY Seq, CandidateId, Attempt")
            .Add("c", chatId));
        return [.. rows.Select(r =>
            $"{r.Get<long>("Seq")}/{r.Get<string>("CandidateId")}/{r.Get<long>("Attempt")} {r.Get<string>("Backend")} {r.Get<string>("Model")} " +
            $"{r.Get<string>("Outcome")} {r.Get<DateTimeOffset?>("FinishedTime"):O} {r.Get<long?>("CompletionTokens")}")];
    }

    /// <summary>
    /// Everything an edit could change: the row counts of every table (<see cref="ChatServiceFixture.SnapshotAsync"/>),
    /// the chat's revisions and operation records, its turns as stored (with their versions) and its preview.
    /// </summary>
    private async Task<string> StateAsync(string chatId)
    {
        var turns = await Fixture.Database.QueryListAsync(new SpannerStatement(
            """
            SELECT t.Seq, t.UpdateTime, t.Text AS TurnText, t.Edited AS TurnEdited, t.PrimaryCandidateId, t.CandidateCount, c.Text AS CandidateText, c.Edited AS CandidateEdited
            FROM Turns t LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
            WHERE t.ChatId = @c ORDER BY t.Seq
            """).Add("c", chatId));
        var chat = await Fixture.Database.QueryListAsync(new SpannerStatement("SELECT LastMessagePreview FROM Chats WHERE ChatId = @c").Add("c", chatId));
        return string.Join("\n", [
            await Fixture.SnapshotAsync(),
            $"TurnRevisions={await Fixture.CountAsync("SELECT COUNT(*) FROM TurnRevisions WHERE ChatId = @c", ("c", chatId))}",
            $"ChatOperations={await Fixture.CountAsync("SELECT COUNT(*) FROM ChatOperations WHERE ChatId = @c", ("c", chatId))}",
            $"preview={chat[0].Get<string>("LastMessagePreview")}",
            .. turns.Select(r =>
                $"{r.Get<long>("Seq")} {r.Get<DateTimeOffset>("UpdateTime"):O} {r.Get<string?>("TurnText")} {r.Get<bool?>("TurnEdited")} " +
                $"{r.Get<string?>("PrimaryCandidateId")} {r.Get<long>("CandidateCount")} {r.Get<string?>("CandidateText")} {r.Get<bool?>("CandidateEdited")}"),
        ]);
    }
}
