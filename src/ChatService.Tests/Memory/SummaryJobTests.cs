using ChatService.Api.V1;
using ChatService.Memory;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Memory;

/// <summary>
/// The rolling summary on the real stack: replies trigger it once per K turns that fell out of the prompt
/// window, a background job writes it through the summary route (a second OpenAI-compatible server), and
/// later prompts carry it; concurrent sends never make two summaries of one span; a failing summary
/// backend never fails a reply, and the job is retried; a rewind below the summary discards it.
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class SummaryJobTests(MemoryFixture fixture) : ApiTestBase(fixture), IClassFixture<MemoryFixture>
{
    private const string SummaryLabel = "Summary of the earlier conversation:\n";
    private const string Reply = "Ahoy, matey! The treasure is under the palm.";

    private async Task<Chat> ChatAsync(string user)
    {
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        return await CreateChatAsync(user, ruby);
    }

    /// <summary>Sends, checks the reply completed, and waits for the summary job it may have queued.</summary>
    private async Task<List<(string Role, string Content)>> ExchangeAsync(string user, string chatId, string text)
    {
        var before = fixture.Server.Requests.Count;
        var considered = Fixture.Service<SummaryScheduler>().Considered;
        var events = await SendAsync(user, chatId, text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        await IdleAsync(considered + 1);
        return fixture.Server.Messages(before);
    }

    /// <summary>Waits for <paramref name="considered"/> replies to reach the trigger (just after their final event) and their jobs to finish.</summary>
    private Task IdleAsync(long considered) => Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), considered, Ct);

    private async Task<List<(long Version, long BaseVersion, long FromSeq, long ThroughSeq, string Text, bool Discarded)>> SummariesAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(
            new global::Spanner.Client.SpannerStatement(
                "SELECT Version, BaseVersion, FromSeq, ThroughSeq, Text, DiscardTime IS NOT NULL AS Discarded FROM ChatSummaries WHERE ChatId = @c ORDER BY Version")
                .Add("c", chatId),
            cancellationToken: Ct);
        return rows.Select(r => (r.Get<long>("Version"), r.Get<long>("BaseVersion"), r.Get<long>("FromSeq"), r.Get<long>("ThroughSeq"), r.Get<string>("Text"), r.Get<bool>("Discarded"))).ToList();
    }

    private async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} did not happen in 30 s");
            await Task.Delay(100, Ct);
        }
    }

    [Fact]
    public async Task ALongChat_IsSummarizedOncePerKTurns_AndEachSummaryEntersTheNextPrompts()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        var summarizerBefore = fixture.Summarizer.Requests.Count;
        var prompts = new List<List<(string Role, string Content)>>();
        for (var i = 1; i <= 10; i++)
        {
            fixture.Summarizer.ReplyChunks = [$"SUMMARY-after-m{i}"];
            prompts.Add(await ExchangeAsync(user, chat.ChatId, $"m{i}"));
        }

        // Window 4, K 4: exchange i's reply (turn 2i) has turns 2i-4..2i-1 in its prompt, so turns through
        // 2i-5 fell out: due at i = 5 (through 5), 7 (through 9) and 9 (through 13), each folding the last.
        Assert.Equal(
            [
                (1L, 0L, 1L, 5L, "SUMMARY-after-m5", false),
                (2L, 1L, 6L, 9L, "SUMMARY-after-m7", false),
                (3L, 2L, 10L, 13L, "SUMMARY-after-m9", false),
            ],
            await SummariesAsync(chat.ChatId));
        Assert.Equal(summarizerBefore + 3, fixture.Summarizer.Requests.Count);

        // No summary before the first; then the latest one, right after the definition, ahead of the turns.
        Assert.All(prompts.Take(5), p => Assert.DoesNotContain(p, m => m.Content.StartsWith(SummaryLabel, StringComparison.Ordinal)));
        Assert.Equal(("system", SummaryLabel + "SUMMARY-after-m5"), prompts[5][1]);
        Assert.Equal(("system", SummaryLabel + "SUMMARY-after-m5"), prompts[6][1]);
        Assert.Equal(("system", SummaryLabel + "SUMMARY-after-m7"), prompts[7][1]);
        Assert.Equal(("system", SummaryLabel + "SUMMARY-after-m9"), prompts[9][1]);
        Assert.Equal(("user", "m10"), prompts[9][^1]);

        // The second summary folds the first and the turns after it (6..9: the reply to m3, m4, its reply, m5).
        var second = fixture.Summarizer.Messages(summarizerBefore + 1);
        Assert.Equal("system", second[0].Role);
        Assert.Contains("Ruby", second[0].Content, StringComparison.Ordinal);
        Assert.StartsWith("Earlier summary:\nSUMMARY-after-m5\n\nNew messages:\nRuby: Ahoy", second[1].Content, StringComparison.Ordinal);
        Assert.Contains("User: m4\n", second[1].Content, StringComparison.Ordinal);
        Assert.EndsWith("User: m5", second[1].Content, StringComparison.Ordinal);
        Assert.DoesNotContain("User: m3", second[1].Content, StringComparison.Ordinal);
        Assert.Equal("summary-model", fixture.Summarizer.Requests[summarizerBefore]["model"]!.GetValue<string>());

        // Logged like a reply's calls, with the version each produced.
        Assert.Equal(3, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Backend = 'summarizer' AND Model = 'summary-model' AND Outcome = 'ok' " +
            "AND Version IS NOT NULL AND PromptTokens = 42 AND CompletionTokens = 5 AND StartedTime IS NOT NULL AND FinishedTime >= StartedTime",
            ("c", chat.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c", ("c", chat.ChatId)));

        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((3L, 13L, "SUMMARY-after-m9"), (memory.Summary.Version, memory.Summary.ThroughSeq, memory.Summary.Text));
    }

    [Fact]
    public async Task ConcurrentSends_NeverMakeTwoSummariesOfOneSpan()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        fixture.Summarizer.ReplyChunks = ["CONCURRENT SUMMARY"];
        fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.FromMilliseconds(200);
        var summarizerBefore = fixture.Summarizer.Requests.Count;
        var considered = Fixture.Service<SummaryScheduler>().Considered;
        try
        {
            for (var round = 0; round < 3; round++)
            {
                var sends = Enumerable.Range(0, 6).Select(i => SendAsync(user, chat.ChatId, $"r{round}-{i}")).ToList();
                foreach (var events in await Task.WhenAll(sends))
                {
                    Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
                }
            }

            await IdleAsync(considered + 18);
        }
        finally
        {
            fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        var summaries = await SummariesAsync(chat.ChatId);
        Assert.NotEmpty(summaries);
        for (var i = 0; i < summaries.Count; i++)
        {
            // One chain: each version folds the one before it, and covers at least K new turns.
            Assert.Equal(i + 1, summaries[i].Version);
            Assert.Equal(i, summaries[i].BaseVersion);
            var previousThrough = i == 0 ? 0 : summaries[i - 1].ThroughSeq;
            Assert.Equal(previousThrough + 1, summaries[i].FromSeq);
            Assert.True(summaries[i].ThroughSeq - previousThrough >= MemoryFixture.EveryTurns, $"version {i + 1} covers fewer than K turns");
        }

        // No model call was made for a summary that was then not stored.
        Assert.Equal(summarizerBefore + summaries.Count, fixture.Summarizer.Requests.Count);
        Assert.Equal(summaries.Count, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task AFailingSummaryBackend_NeverFailsAReply_AndTheJobIsRetriedUntilItSucceeds()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        fixture.Summarizer.ReplyChunks = ["AFTER THE OUTAGE"];
        fixture.Summarizer.FailWithStatus = 500;
        try
        {
            for (var i = 1; i <= 6; i++)
            {
                // Every reply completes (ExchangeAsync checks), and none waits for the failing job.
                await ExchangeAsync(user, chat.ChatId, $"m{i}");
            }

            Assert.Empty(await SummariesAsync(chat.ChatId));
            Assert.True(await Fixture.CountAsync(
                "SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Outcome != 'ok' AND Version IS NULL AND Error IS NOT NULL", ("c", chat.ChatId)) >= 1);
            Assert.Equal(1, await Fixture.CountAsync(
                "SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND ThroughSeq = 5 AND LastError IS NOT NULL AND Attempts >= 1", ("c", chat.ChatId)));
        }
        finally
        {
            fixture.Summarizer.FailWithStatus = null;
        }

        // The sweep takes the released job up once its retry delay is over.
        await WaitForAsync(async () => (await SummariesAsync(chat.ChatId)).Count == 1, "the retried summary");
        Assert.Equal((1L, 5L, "AFTER THE OUTAGE"), (await SummariesAsync(chat.ChatId)).Select(s => (s.Version, s.ThroughSeq, s.Text)).Single());
        await WaitForAsync(async () => await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c", ("c", chat.ChatId)) == 0, "the job's end");
        var prompt = await ExchangeAsync(user, chat.ChatId, "m7");
        Assert.Equal(("system", SummaryLabel + "AFTER THE OUTAGE"), prompt[1]);
    }

    [Fact]
    public async Task ARewindBelowTheSummary_DiscardsIt_AndTheNextSummaryCoversOnlyTheTurnsStillShown()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        fixture.Summarizer.ReplyChunks = ["BEFORE THE REWIND"];
        for (var i = 1; i <= 5; i++)
        {
            await ExchangeAsync(user, chat.ChatId, $"m{i}");
        }

        Assert.Equal(5, (await SummariesAsync(chat.ChatId)).Single().ThroughSeq);
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chat.ChatId, ToSeq = 3, RequestId = "rewind-1" }, cancellationToken: Ct);

        // Turns 4..10 are hidden; the summary folded 4 and 5: it is discarded, in the rewind's commit.
        Assert.True((await SummariesAsync(chat.ChatId)).Single().Discarded);
        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Null(memory.Summary);

        fixture.Summarizer.ReplyChunks = ["AFTER THE REWIND"];
        var summarizerBefore = fixture.Summarizer.Requests.Count;
        var prompts = new List<List<(string Role, string Content)>>();
        for (var i = 1; i <= 4; i++)
        {
            prompts.Add(await ExchangeAsync(user, chat.ChatId, $"n{i}"));
        }

        Assert.All(prompts, p => Assert.DoesNotContain(p, m => m.Content.Contains("BEFORE THE REWIND", StringComparison.Ordinal)));

        // Shown: 1..3, then 11.. (n1 is 11). n3's reply (16) has 12..15 in its prompt: 1..11 fell out, and a
        // job takes at most 8 turns: 1..8 (of which only 1..3 are shown). n4's reply (18): 9..13 fell out.
        var summaries = await SummariesAsync(chat.ChatId);
        Assert.Equal(
            [(2L, 0L, 1L, 8L, "AFTER THE REWIND", false), (3L, 2L, 9L, 13L, "AFTER THE REWIND", false)],
            summaries.Skip(1));
        var first = fixture.Summarizer.Messages(summarizerBefore)[1].Content;
        Assert.Equal($"Earlier summary:\n(none yet)\n\nNew messages:\nUser: m1\nRuby: {Reply}\nUser: m2", first);
        var second = fixture.Summarizer.Messages(summarizerBefore + 1)[1].Content;
        Assert.Equal($"Earlier summary:\nAFTER THE REWIND\n\nNew messages:\nUser: n1\nRuby: {Reply}\nUser: n2", second);
    }

    [Fact]
    public async Task AnOldReplyRegenerated_NeverGetsBothTheSummaryAndTheTurnsItCovers()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        for (var i = 1; i <= 10; i++)
        {
            fixture.Summarizer.ReplyChunks = [$"SUMMARY-after-m{i}"];
            await ExchangeAsync(user, chat.ChatId, $"m{i}");
        }

        // Summaries through 5, 9 and 13 (see above). The reply to m8 (turn 16) is regenerated: the turns
        // before it in a window of 4 are 12 to 15, and the latest summary (through 13) ends before it.
        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(13L, memory.Summary.ThroughSeq);
        var before = fixture.Server.Requests.Count;
        var considered = Fixture.Service<SummaryScheduler>().Considered;
        using (var call = Fixture.Client(user).Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = 16, RequestId = "regen-old" }, cancellationToken: Ct))
        {
            var events = new List<ReplyEvent>();
            await foreach (var e in call.ResponseStream.ReadAllAsync(Ct))
            {
                events.Add(e);
            }

            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        }

        await IdleAsync(considered + 1);
        var prompt = fixture.Server.Messages(before);

        // The summary tells turns 12 and 13 (the reply to m6, m7): they are not in the prompt again.
        Assert.Contains(("system", SummaryLabel + "SUMMARY-after-m9"), prompt);
        Assert.DoesNotContain(("user", "m7"), prompt);
        Assert.Equal(("user", "m8"), prompt[^1]);
    }
}
