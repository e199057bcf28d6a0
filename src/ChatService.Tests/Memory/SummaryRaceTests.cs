using System.Diagnostics.Metrics;
using ChatService.Api.V1;
using ChatService.Memory;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Memory;

/// <summary>
/// A reply whose window was read before a summary job's store landed, and whose trigger runs after that
/// job ended: its trigger still sees the summary due and queues a second job. That job must end in Redis
/// (the chat's hash keeps the last summary stored), not with a Spanner snapshot that finds its span
/// covered: on a busy chat that race cost a read for most summaries.
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class SummaryRaceTests(QuietSummaryFixture fixture) : ApiTestBase(fixture), IClassFixture<QuietSummaryFixture>
{
    private SummaryScheduler Scheduler => Fixture.Service<SummaryScheduler>();

    [Fact]
    public async Task AReplyThatRacedTheStore_QueuesNoSecondSpannerRead()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        var summaries = fixture.Summarizer.Requests.Count;
        var refusedInRedis = 0;
        var readSpanner = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SummaryMetrics.MeterName && instrument.Name == "chat.summary.runs")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "covered_in_redis" })
                {
                    Interlocked.Increment(ref refusedInRedis);
                }
                else if (tag is { Key: "outcome", Value: "covered" or "not_claimed" })
                {
                    // A job that got past the lease and read Spanner to find nothing to do.
                    Interlocked.Increment(ref readSpanner);
                }
            }
        });
        listener.Start();
        fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.FromSeconds(3);
        try
        {
            // Exchanges until one queues the first summary job (its model call takes 3 s).
            var due = false;
            for (var i = 1; i <= 10 && !due; i++)
            {
                var considered = Scheduler.Considered;
                var events = await SendAsync(user, chat.ChatId, $"m{i}");
                Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
                for (var deadline = DateTime.UtcNow.AddSeconds(30); Scheduler.Considered < considered + 1 && DateTime.UtcNow < deadline;)
                {
                    await Task.Delay(10, Ct);
                }

                due = Scheduler.InFlight > 0;
            }

            Assert.True(due, "no exchange made a summary due");

            // The job has read its span (its one snapshot) once its model call has started.
            for (var deadline = DateTime.UtcNow.AddSeconds(30); fixture.Summarizer.Requests.Count == summaries && DateTime.UtcNow < deadline;)
            {
                await Task.Delay(10, Ct);
            }

            Assert.Equal(summaries + 1, fixture.Summarizer.Requests.Count);

            // The next exchange records its turns and reads its window now, well before the store (3 s: so the
            // store finds no change of this exchange announced and takes the window in place); its reply, and
            // so its trigger, comes 7 s later, after the job stored and left this replica's queue.
            fixture.Server.DelayBeforeFirstChunk = TimeSpan.FromSeconds(7);
            var next = Scheduler.Considered;
            var raced = await SendAsync(user, chat.ChatId, "while the summary is written");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, raced[^1].EventCase);
            await Scheduler.IdleAsync(TimeSpan.FromSeconds(30), next + 1, Ct);

            // Its trigger queued a second job (the race happened), which ended in Redis: no second job read
            // Spanner (its snapshot). The exchange's own single-use reads are not asserted here: on a loaded
            // machine this race was seen to cost it one read, not yet attributed (perhaps the store's in-place
            // apply meeting the exchange's announced change and dropping the window); CacheEfficiencyTests
            // cover warm exchanges.
            Assert.True(Volatile.Read(ref refusedInRedis) >= 1, "the raced reply queued no second job");
            Assert.Equal(0, Volatile.Read(ref readSpanner));

            var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
            Assert.Equal(1L, memory.Summary?.Version);
            Assert.Equal(summaries + 1, fixture.Summarizer.Requests.Count);
        }
        finally
        {
            fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.Zero;
            fixture.Server.DelayBeforeFirstChunk = TimeSpan.Zero;
        }
    }
}
