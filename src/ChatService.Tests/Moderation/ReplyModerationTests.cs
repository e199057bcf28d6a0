using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Shaping;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Moderation;

/// <summary>
/// Replies through the moderation step, against the emulator, Redis and a real OpenAI-compatible
/// server: a reply flagged on the stream stops there, ends FILTERED, is stored without its text and
/// with its category, is logged, never reaches a later prompt and cannot be selected or edited; a
/// reply flagged only whole at the end ends the same way; user messages flagged are refused with
/// nothing written; moderator outages pass (this fixture fails open) and are counted.
/// </summary>
[Collection(ModerationMeterCollection.Name)]
public sealed class ReplyModerationTests(ModerationFixture fixture) : ApiTestBase(fixture), IClassFixture<ModerationFixture>
{
    private static readonly string[] FlaggedMidStream =
        ["Well, ", "here is ", "something ", "FORBIDDEN ", "to say, ", .. Enumerable.Repeat("and then more words ", 30)];

    private async Task<(string User, Chat Chat)> NewChatAsync()
    {
        var user = TestUsers.New();
        var ada = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada tells stories.", Greeting = "Hello, traveller.", ModelRoute = ModerationFixture.Route },
            cancellationToken: Ct);
        return (user, await CreateChatAsync(user, ada));
    }

    private void Script(string[] chunks, TimeSpan chunkDelay = default)
    {
        fixture.Server.ReplyChunks = chunks;
        fixture.Server.ChunkDelay = chunkDelay;
    }

    private async Task<(long State, string? Text, string? Category, string? Code)> StoredCandidateAsync(string chatId, string candidateId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT State, Text, FilterCategory, FailureCode FROM Candidates WHERE ChatId = @c AND CandidateId = @id").Add("c", chatId).Add("id", candidateId), cancellationToken: Ct);
        var row = Assert.Single(rows);
        return (row.Get<long>("State"), row.Get<string?>("Text"), row.Get<string?>("FilterCategory"), row.Get<string?>("FailureCode"));
    }

    private static string TextAfterLastRestart(IEnumerable<ReplyEvent> events)
    {
        var text = "";
        foreach (var e in events)
        {
            text = e.EventCase switch
            {
                ReplyEvent.EventOneofCase.Restarted => "",
                ReplyEvent.EventOneofCase.Delta => text + e.Delta.Text,
                _ => text,
            };
        }

        return text;
    }

    [Fact]
    public async Task AReplyFlaggedMidStream_StopsThere_EndsFiltered_IsStoredWithoutItsText_AndNeverReachesALaterPrompt()
    {
        var (user, chat) = await NewChatAsync();
        var client = Fixture.Client(user);
        Script(FlaggedMidStream, TimeSpan.FromMilliseconds(40));
        using var counters = new ModerationCounters();

        var events = await SendAsync(user, chat.ChatId, "Tell me a story.", "story-1");

        // The stream ends filtered: the text streamed so far is withdrawn, the turn has none.
        var end = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Failed, end.EventCase);
        Assert.Equal("FILTERED", end.Failed.Code);
        Assert.Contains("violence", end.Failed.Reason, StringComparison.Ordinal);
        Assert.Equal(TurnState.Filtered, end.Failed.Turn.State);
        Assert.Equal("", end.Failed.Turn.Text);
        Assert.Equal(ReplyEvent.EventOneofCase.Restarted, events[^2].EventCase);
        Assert.Equal("", TextAfterLastRestart(events));

        // Generation stopped on the stream, long before the model's reply was over.
        var streamed = string.Concat(events.Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text));
        Assert.Contains("FORBIDDEN", streamed, StringComparison.Ordinal);
        Assert.True(streamed.Length < string.Concat(FlaggedMidStream).Length / 2, $"the reply streamed on after the flag: {streamed.Length} characters");
        Assert.True(counters["chat.moderation.checks{result=flagged,target=reply}"] >= 1);

        // Stored filtered, with its category and without its text; the model call is logged as filtered.
        var candidateId = end.CandidateId;
        Assert.Equal((6L, "", "violence", "FILTERED"), await StoredCandidateAsync(chat.ChatId, candidateId));
        var calls = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT Outcome, Error FROM ModelCalls WHERE ChatId = @c AND CandidateId = @id").Add("c", chat.ChatId).Add("id", candidateId), cancellationToken: Ct);
        var call = Assert.Single(calls);
        Assert.Equal("filtered", call.Get<string>("Outcome"));
        Assert.Contains("violence", call.Get<string?>("Error"), StringComparison.Ordinal);

        // History shows it filtered and empty, through the cache as from Spanner.
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        var shown = Assert.Single(history.Turns, t => t.Seq == end.Seq);
        Assert.Equal((TurnState.Filtered, ""), (shown.State, shown.Text));

        // A resume shows the same end, and nothing of the text.
        using (var resume = client.StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = end.Seq }, cancellationToken: Ct))
        {
            var replayed = await resume.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal("FILTERED", replayed[^1].Failed.Code);
            Assert.Equal("", TextAfterLastRestart(replayed));
        }

        // A retry of the same request attaches to the same reply and ends the same way.
        var retried = await SendAsync(user, chat.ChatId, "Tell me a story.", "story-1");
        Assert.True(retried[0].Accepted.Duplicate);
        Assert.Equal(("FILTERED", candidateId), (retried[^1].Failed.Code, retried[^1].CandidateId));
        Assert.Equal("", TextAfterLastRestart(retried));

        // The next reply's prompt has neither the withheld text nor an empty stand-in for it.
        Script(["A clean answer."]);
        var before = fixture.Server.Requests.Count;
        var next = await SendAsync(user, chat.ChatId, "Go on.", "story-2");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, next[^1].EventCase);
        var prompt = fixture.Server.Messages(before);
        Assert.DoesNotContain(prompt, m => m.Content.Contains("FORBIDDEN", StringComparison.Ordinal) || m.Content.Contains("here is", StringComparison.Ordinal));
        Assert.Equal(["system", "assistant", "user", "user"], prompt.Select(m => m.Role));
        Assert.Equal(("assistant", "Hello, traveller."), prompt[1]);

        // It cannot be selected, even once another candidate took its place, nor edited.
        // Read to its end: a generation left running would reach into the next test's script.
        using (var regenerated = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = end.Seq }, cancellationToken: Ct))
        {
            Assert.True((await regenerated.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct))[^1].EventCase is ReplyEvent.EventOneofCase.Completed or ReplyEvent.EventOneofCase.Failed);
        }

        await AssertStatusAsync(StatusCode.FailedPrecondition, () =>
            client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = end.Seq, CandidateId = candidateId }, cancellationToken: Ct).ResponseAsync);
        var candidates = await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = end.Seq }, cancellationToken: Ct);
        var filtered = Assert.Single(candidates.Candidates, c => c.CandidateId == candidateId);
        Assert.Equal((TurnState.Filtered, "", false), (filtered.State, filtered.Text, filtered.Primary));
    }

    private static void AssertNoDeltaHolds(IEnumerable<ReplyEvent> events, string word) =>
        Assert.DoesNotContain(events, e => e.EventCase == ReplyEvent.EventOneofCase.Delta && e.Delta.Text.Contains(word, StringComparison.Ordinal));

    [Fact]
    public async Task AWithheldReply_IsNeverReplayed_FromItsLog_ToAResumeFromTheStart_OrARetriedSend()
    {
        var (user, chat) = await NewChatAsync();
        var client = Fixture.Client(user);
        Script(FlaggedMidStream, TimeSpan.FromMilliseconds(20));

        var live = await SendAsync(user, chat.ChatId, "Tell me a story.", "replay-1");
        Assert.Equal("FILTERED", live[^1].Failed.Code);
        var key = $"chat:{{{chat.ChatId}}}:r:{live[^1].Seq}:{live[^1].CandidateId}";

        // The log that held the streamed text is deleted once its final event is there.
        var redis = Fixture.Service<StackExchange.Redis.IConnectionMultiplexer>().GetDatabase();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await redis.KeyExistsAsync(key) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, Ct);
        }

        Assert.False(await redis.KeyExistsAsync(key), "the withheld reply's log is still there");

        // From the very start, after a few events, and by a retry of the request: never a delta of the text.
        foreach (var after in new long[] { 0, 2 })
        {
            using var resume = client.StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = live[^1].Seq, AfterSequence = after }, cancellationToken: Ct);
            var replayed = await resume.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal("FILTERED", replayed[^1].Failed.Code);
            AssertNoDeltaHolds(replayed, "FORBIDDEN");
            AssertNoDeltaHolds(replayed, "here is");
        }

        var retried = await SendAsync(user, chat.ChatId, "Tell me a story.", "replay-1");
        Assert.True(retried[0].Accepted.Duplicate);
        Assert.Equal("FILTERED", retried[^1].Failed.Code);
        AssertNoDeltaHolds(retried, "FORBIDDEN");
        AssertNoDeltaHolds(retried, "here is");
    }

    [Fact]
    public async Task ARefusedRetryOfARecordedRequest_AttachesToIt_AndEditsOfTurnsNotTheCallers_AreNotFound_BeforeAnyCheck()
    {
        var (user, chat) = await NewChatAsync();
        Script(["Fine."]);
        var sent = await SendAsync(user, chat.ChatId, "A harmless message.", "retry-1");

        // The same request id with words the classifier flags (as a retry is checked after moderation
        // was switched on): what was recorded, not a refusal saying nothing was.
        var retried = await SendAsync(user, chat.ChatId, "You are an INSULTWORD.", "retry-1");
        Assert.True(retried[0].Accepted.Duplicate);
        Assert.Equal((ReplyEvent.EventOneofCase.Completed, sent[^1].CandidateId), (retried[^1].EventCase, retried[^1].CandidateId));

        // Another user's chat, or a turn that is not there: NOT_FOUND, and the classifier is not asked.
        using var counters = new ModerationCounters();
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(TestUsers.New()).EditTurnAsync(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "edit-1" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(user).EditTurnAsync(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 999, Text = "insultword", RequestId = "edit-2" }, cancellationToken: Ct).ResponseAsync);

        // EditAndRegenerate likewise: another user's chat, a turn that is not there.
        await AssertStatusAsync(StatusCode.NotFound, () => ReadAllAsync(Fixture.Client(TestUsers.New()).EditAndRegenerate(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "edit-3" }, cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.NotFound, () => ReadAllAsync(Fixture.Client(user).EditAndRegenerate(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 999, Text = "insultword", RequestId = "edit-4" }, cancellationToken: Ct)));

        // A hidden turn (rewound past): FAILED_PRECONDITION from either, and the classifier is still not asked.
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 1, RequestId = "rewind-1" }, cancellationToken: Ct);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => ReadAllAsync(Fixture.Client(user).EditAndRegenerate(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "edit-5" }, cancellationToken: Ct)));
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => Fixture.Client(user).EditTurnAsync(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "edit-6" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal((0L, 0L), (counters["chat.moderation.checks{result=flagged,target=user_message}"], counters["chat.moderation.checks{result=clean,target=user_message}"]));
    }

    [Fact]
    public async Task ARetriedEditAndRegenerate_ReturnsItsRecord_WithoutAskingTheClassifier_EvenOnceItsOperationRecordExpired()
    {
        var (user, chat) = await NewChatAsync();
        var client = Fixture.Client(user);
        Script(["Fine."]);
        await SendAsync(user, chat.ChatId, "A harmless message.", "send-er");

        Task<List<ReplyEvent>> EditAndRegenerateAsync() => ReadAllAsync(client.EditAndRegenerate(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "A harmless message, edited.", RequestId = "edit-er" }, cancellationToken: Ct));

        var first = await EditAndRegenerateAsync();
        Assert.False(first[0].Accepted.Duplicate);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, first[^1].EventCase);

        // The retry, and the retry once ChatOperations dropped the record (its 7-day policy, here by hand):
        // the recorded edit and candidate, and the classifier is not asked about the text again.
        using var counters = new ModerationCounters();
        var retried = await EditAndRegenerateAsync();
        await Fixture.Database.WriteAsync([SpannerMutation.Delete("ChatOperations", SpannerKey.Of(chat.ChatId, "edit-er"))], Ct);
        var afterExpiry = await EditAndRegenerateAsync();

        foreach (var repeat in new[] { retried, afterExpiry })
        {
            Assert.True(repeat[0].Accepted.Duplicate);
            Assert.Equal((ReplyEvent.EventOneofCase.Completed, first[^1].CandidateId), (repeat[^1].EventCase, repeat[^1].CandidateId));
        }

        Assert.Equal(0, counters["chat.moderation.checks{result=clean,target=user_message}"]);
        Assert.Equal(2, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = 3", ("c", chat.ChatId)));

        // A new request with the same text is a new edit: moderated as ever.
        using var call = client.EditAndRegenerate(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "A harmless message, edited.", RequestId = "edit-er-2" }, cancellationToken: Ct);
        await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal(1, counters["chat.moderation.checks{result=clean,target=user_message}"]);
    }

    [Fact]
    public async Task AFilteredPrimaryCandidate_CannotBeSelectedOrEdited()
    {
        var (user, chat) = await NewChatAsync();
        var client = Fixture.Client(user);
        Script(["FORBIDDEN"]);
        var end = (await SendAsync(user, chat.ChatId, "Hi.", "short-1"))[^1];
        Assert.Equal("FILTERED", end.Failed.Code);

        await AssertStatusAsync(StatusCode.FailedPrecondition, () =>
            client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = end.Seq, CandidateId = end.CandidateId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () =>
            client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = end.Seq, Text = "Something harmless." }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal((6L, "", "violence", "FILTERED"), await StoredCandidateAsync(chat.ChatId, end.CandidateId));

        // A fork copies it as filtered as it is: its category and failure code too.
        var fork = await client.ForkChatAsync(new ForkChatRequest { ChatId = chat.ChatId, AtSeq = end.Seq, RequestId = "fork-filtered" }, cancellationToken: Ct);
        var forkedRows = await Fixture.Database.QueryListAsync(new SpannerStatement(
"SELECT State, Text, FilterCategory, FailureCode FROM Candidates WHERE ChatId = @c AND Seq = @s").Add("c", fork.ChatId).Add("s", end.Seq), cancellationToken: Ct);
        var forked = Assert.Single(forkedRows);
        Assert.Equal((6L, "", "violence", "FILTERED"),
            (forked.Get<long>("State"), forked.Get<string?>("Text"), forked.Get<string?>("FilterCategory"), forked.Get<string?>("FailureCode")));
    }

    [Fact]
    public async Task AShortReplyFlaggedOnlyWhole_AtTheEnd_EndsFilteredToo()
    {
        var (user, chat) = await NewChatAsync();
        Script(["Oh ", "FORBIDDEN"]); // 12 characters: under the 20-character window, so only the final check sees it.
        using var counters = new ModerationCounters();

        var events = await SendAsync(user, chat.ChatId, "Say something short.", "final-1");

        Assert.Equal("FILTERED", events[^1].Failed.Code);
        Assert.Equal(ReplyEvent.EventOneofCase.Restarted, events[^2].EventCase);
        Assert.Equal((6L, "", "violence", "FILTERED"), await StoredCandidateAsync(chat.ChatId, events[^1].CandidateId));
        Assert.Equal(1, counters["chat.moderation.checks{result=flagged,target=reply}"]);

        // The category as a field wherever the reply is shown: the live event and its turn, a replay from
        // storage, history (cached window and all) and the candidate list; an unfiltered turn has none.
        var end = events[^1];
        Assert.Equal(("violence", "violence"), (end.Failed.FilterCategory, end.Failed.Turn.FilterCategory));
        var client = Fixture.Client(user);
        using var replay = client.StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = end.Seq }, cancellationToken: Ct);
        var replayed = await replay.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal(("FILTERED", "violence"), (replayed[^1].Failed.Code, replayed[^1].Failed.FilterCategory));
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal("violence", Assert.Single(history.Turns, t => t.Seq == end.Seq).FilterCategory);
        Assert.All(history.Turns.Where(t => t.Seq != end.Seq), t => Assert.Equal("", t.FilterCategory));
        var candidates = await client.ListCandidatesAsync(new ListCandidatesRequest { ChatId = chat.ChatId, Seq = end.Seq }, cancellationToken: Ct);
        Assert.Equal("violence", Assert.Single(candidates.Candidates).FilterCategory);
    }

    [Fact]
    public async Task ACleanReply_IsCheckedAndCompletes()
    {
        var (user, chat) = await NewChatAsync();
        Script(["A perfectly ", "pleasant reply ", "about the weather."]);
        using var counters = new ModerationCounters();

        var events = await SendAsync(user, chat.ChatId, "How is the weather?", "clean-1");

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal("A perfectly pleasant reply about the weather.", events[^1].Completed.Turn.Text);
        Assert.Equal((3L, "A perfectly pleasant reply about the weather.", null, null), await StoredCandidateAsync(chat.ChatId, events[^1].CandidateId));
        Assert.True(counters["chat.moderation.checks{result=clean,target=reply}"] >= 1);
        Assert.True(counters["chat.moderation.checks{result=clean,target=user_message}"] >= 1);
    }

    [Fact]
    public async Task AFlaggedUserMessage_IsRefusedNamingText_AndNothingIsWritten()
    {
        var (user, chat) = await NewChatAsync();
        var client = Fixture.Client(user);
        Script(["Fine."]);
        var sent = await SendAsync(user, chat.ChatId, "A first, harmless message.", "first-1");
        var tables = await Fixture.SnapshotAsync();
        var requests = fixture.Server.Requests.Count;

        var refused = await AssertStatusAsync(StatusCode.InvalidArgument, () => SendAsync(user, chat.ChatId, "You are an INSULTWORD.", "rude-1"));
        Assert.Equal("text", FieldOf(refused));
        Assert.Contains("harassment", refused.Status.Detail, StringComparison.Ordinal);

        // The same words as an edit, of a user turn or a reply, or as an edit-and-regenerate: refused the same way.
        var edit = await AssertStatusAsync(StatusCode.InvalidArgument, () =>
            client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "rude-2" }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal("text", FieldOf(edit));
        await AssertStatusAsync(StatusCode.InvalidArgument, () =>
            client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = sent[^1].Seq, Text = "insultword", RequestId = "rude-3" }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.InvalidArgument, async () =>
        {
            using var call = client.EditAndRegenerate(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "insultword", RequestId = "rude-4" }, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });

        Assert.Equal(tables, await Fixture.SnapshotAsync());
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM TurnRevisions WHERE ChatId = @c", ("c", chat.ChatId)));
        Assert.Equal(requests, fixture.Server.Requests.Count);
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal("A first, harmless message.", Assert.Single(history.Turns, t => t.Seq == 2).Text);
    }

    [Fact]
    public async Task FailOpen_AMessageAndAReplyTheModeratorCannotCheck_GoThrough_AndTheOutagesAreCounted()
    {
        var (user, chat) = await NewChatAsync();
        Script(["Fine words ", "[mod:outage] ", "and the rest."]);
        using var counters = new ModerationCounters();

        var events = await SendAsync(user, chat.ChatId, "Hello [mod:outage] there.", "open-1");

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal("Fine words [mod:outage] and the rest.", events[^1].Completed.Turn.Text);
        Assert.Equal("Hello [mod:outage] there.", events[0].Accepted.UserTurn.Text);
        Assert.Equal(1, counters["chat.moderation.outages{policy=passed,target=user_message}"]);
        Assert.True(counters["chat.moderation.outages{policy=passed,target=reply}"] >= 1);
        Assert.True(counters["chat.moderation.checks{result=unavailable,target=reply}"] >= 1);
    }
}

/// <summary>Moderator outages with the fail-closed policy: nothing unchecked is recorded or shown.</summary>
[Collection(ModerationMeterCollection.Name)]
public sealed class FailClosedModerationTests(FailClosedModerationFixture fixture) : ApiTestBase(fixture), IClassFixture<FailClosedModerationFixture>
{
    private async Task<(string User, Chat Chat)> NewChatAsync()
    {
        var user = TestUsers.New();
        var ada = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada tells stories.", Greeting = "Hello, traveller.", ModelRoute = ModerationFixture.Route },
            cancellationToken: Ct);
        return (user, await CreateChatAsync(user, ada));
    }

    [Fact]
    public async Task AMessageTheModeratorCannotCheck_IsUnavailable_AndNothingIsWritten()
    {
        var (user, chat) = await NewChatAsync();
        var tables = await Fixture.SnapshotAsync();
        using var counters = new ModerationCounters();

        var refused = await AssertStatusAsync(StatusCode.Unavailable, () => SendAsync(user, chat.ChatId, "Hello [mod:outage] there.", "closed-1"));

        Assert.Contains("moderation is unavailable", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(tables, await Fixture.SnapshotAsync());
        Assert.Equal(1, counters["chat.moderation.outages{policy=blocked,target=user_message}"]);
    }

    [Fact]
    public async Task AReplyTheModeratorCannotCheck_IsWithheld_AsFailedModerationUnavailable_WithoutItsText()
    {
        var (user, chat) = await NewChatAsync();
        fixture.Server.ReplyChunks = ["Some words ", "[mod:outage] ", "and the rest of a long enough reply."];
        using var counters = new ModerationCounters();

        var events = await SendAsync(user, chat.ChatId, "Tell me something.", "closed-2");

        var end = events[^1];
        Assert.Equal("MODERATION_UNAVAILABLE", end.Failed.Code);
        Assert.Equal((TurnState.Failed, ""), (end.Failed.Turn.State, end.Failed.Turn.Text));
        Assert.Equal(ReplyEvent.EventOneofCase.Restarted, events[^2].EventCase);
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(
            "SELECT c.State, c.Text, c.FailureCode, m.Outcome FROM Candidates c JOIN ModelCalls m ON m.ChatId = c.ChatId AND m.Seq = c.Seq AND m.CandidateId = c.CandidateId WHERE c.ChatId = @c AND c.CandidateId = @id")
            .Add("c", chat.ChatId).Add("id", end.CandidateId), cancellationToken: Ct);
        var row = Assert.Single(rows);
        Assert.Equal((4L, "", "MODERATION_UNAVAILABLE", "filtered"), (row.Get<long>("State"), row.Get<string?>("Text"), row.Get<string?>("FailureCode"), row.Get<string>("Outcome")));
        Assert.True(counters["chat.moderation.outages{policy=blocked,target=reply}"] >= 1);

        // Replayed from storage it ends as it did live (the stored code, not FAILED), with none of its text.
        using (var resume = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = chat.ChatId, Seq = end.Seq, AfterSequence = 0 }, cancellationToken: Ct))
        {
            var replayed = await resume.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.Equal("MODERATION_UNAVAILABLE", replayed[^1].Failed.Code);
            Assert.DoesNotContain(replayed, e => e.EventCase == ReplyEvent.EventOneofCase.Delta && e.Delta.Text.Contains("Some words", StringComparison.Ordinal));
        }

        // What the moderator can check still goes through.
        fixture.Server.ReplyChunks = ["A clean reply."];
        var clean = await SendAsync(user, chat.ChatId, "And now?", "closed-3");
        Assert.Equal("A clean reply.", clean[^1].Completed.Turn.Text);
    }
}
