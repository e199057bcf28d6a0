using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Inference;
using ChatService.Memory;
using ChatService.Storage;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Tests.Memory;

/// <summary>
/// The summary job's claim, with the job run by hand (no trigger, no timed sweep): two replicas racing on
/// one span store one summary from one model call, and a job claimed by a replica that was killed is
/// taken up by another once its lease runs out, never before.
/// </summary>
public sealed class SummaryClaimTests(ManualSummaryFixture fixture) : ApiTestBase(fixture), IClassFixture<ManualSummaryFixture>
{
    /// <summary>A chat of ten exchanges (20 turns): turns through 9 fall out of any window of 4 in it.</summary>
    private async Task<string> LongChatAsync()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        for (var i = 1; i <= 10; i++)
        {
            var events = await SendAsync(user, chat.ChatId, $"m{i}");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        }

        return chat.ChatId;
    }

    /// <summary>A runner as another replica would have it: same storage and routes, its own replica id.</summary>
    private SummaryJobRunner Replica(string replicaId) => new(
        Fixture.Service<SummaryJobStore>(),
        Fixture.Service<ModelRouter>(),
        Fixture.Service<IOptions<SummaryOptions>>().Value,
        replicaId,
        TimeProvider.System,
        NullLogger<SummaryJobRunner>.Instance);

    private Task<long> SummaryCountAsync(string chatId) => Fixture.CountAsync("SELECT COUNT(*) FROM ChatSummaries WHERE ChatId = @c", ("c", chatId));

    [Fact]
    public async Task TwoReplicasRacingOnOneSpan_StoreOneSummary_FromOneModelCall()
    {
        var chatId = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;
        fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.FromMilliseconds(500);
        SummaryRunOutcome[] outcomes;
        try
        {
            outcomes = await Task.WhenAll(Replica("replica-a").RunAsync(chatId, 9, Ct), Replica("replica-b").RunAsync(chatId, 9, Ct));
        }
        finally
        {
            fixture.Summarizer.DelayBeforeFirstChunk = TimeSpan.Zero;
        }

        Assert.Single(outcomes, SummaryRunOutcome.Stored);
        Assert.Contains(outcomes, o => o is SummaryRunOutcome.NotClaimed or SummaryRunOutcome.Covered);
        Assert.Equal(1, await SummaryCountAsync(chatId));
        Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Version = 1", ("c", chatId)));

        // A retry of the same span (a repeated trigger, or a job run again after a lost answer) stores nothing.
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-a").RunAsync(chatId, 9, Ct));
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-c").RunAsync(chatId, 9, Ct));
        Assert.Equal(1, await SummaryCountAsync(chatId));
        Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
    }

    [Fact]
    public async Task AJobClaimedByAKilledReplica_WaitsForItsLease_ThenTheSweepHandsItToAnother()
    {
        var chatId = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;

        // What a replica SIGKILLed between its claim and its commit leaves: the claim, with its lease.
        await Fixture.Database.WriteAsync(
            [SpannerMutation.Insert("SummaryJobs")
                .Set("ChatId", chatId).Set("ThroughSeq", 9L).Set("Owner", "killed-replica")
                .Set("LeaseUntil", DateTimeOffset.UtcNow.AddHours(1)).Set("Attempts", 1L)
                .Set("CreateTime", SpannerCommitTimestamp.Value)],
            Ct);
        Assert.Equal(SummaryRunOutcome.NotClaimed, await Replica("replica-b").RunAsync(chatId, 9, Ct));
        Assert.Equal(0, await SummaryCountAsync(chatId));
        Assert.Equal(before, fixture.Summarizer.Requests.Count);

        // The lease runs out: a sweep (any replica's) finds the job and runs it.
        await Fixture.Database.WriteAsync(
            [SpannerMutation.Update("SummaryJobs").Set("ChatId", chatId).Set("LeaseUntil", DateTimeOffset.UtcNow.AddSeconds(-1))], Ct);
        Assert.True(await Fixture.Service<SummarySweeper>().SweepOnceAsync(Ct) >= 1);
        await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), Ct);

        var rows = await Fixture.Database.QueryListAsync(
            new SpannerStatement("SELECT Version, ThroughSeq, Replica FROM ChatSummaries WHERE ChatId = @c").Add("c", chatId), cancellationToken: Ct);
        var row = Assert.Single(rows);
        Assert.Equal((1L, 9L, Fixture.Service<IOptions<ChatOptions>>().Value.ReplicaId),
            (row.Get<long>("Version"), row.Get<long>("ThroughSeq"), row.Get<string>("Replica")));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c", ("c", chatId)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Attempt = 2", ("c", chatId)));
    }

    [Fact]
    public async Task AReplicaWhoseClaimWasTakenOver_StoresNothing_ButLogsItsCall()
    {
        var chatId = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();
        var (status, claim) = await store.ClaimAsync(chatId, 9, MemoryFixture.EveryTurns, "slow-replica", TimeSpan.FromMinutes(1), 5, Ct);
        Assert.Equal(SummaryClaimStatus.Claimed, status);

        // Its lease ran out meanwhile and another replica took the job over.
        await Fixture.Database.WriteAsync(
            [SpannerMutation.Update("SummaryJobs").Set("ChatId", chatId).Set("Owner", "other-replica")], Ct);
        var call = new ModelCallRecord("summarizer", "summary-model", "ok", null, null, DateTimeOffset.UtcNow, null, DateTimeOffset.UtcNow, 1, 1);
        Assert.Null(await store.CommitAsync(claim!, 9, "LATE", 4, "slow-replica", [call], Ct));

        Assert.Equal(0, await SummaryCountAsync(chatId));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Version IS NULL AND Replica = 'slow-replica'", ("c", chatId)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND Owner = 'other-replica'", ("c", chatId)));
    }
}
