using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Inference;
using ChatService.Memory;
using ChatService.Storage;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Spanner.Client;
using StackExchange.Redis;
using ChatService.Cache;

namespace ChatService.Tests.Memory;

/// <summary>
/// The summary job's lease and its one commit, with the job run by hand (no trigger, no timed sweep, no
/// other background Spanner traffic): two replicas racing on one span store one summary from one model
/// call; a job leased by a replica that was killed is taken up by another once its lease expires, never
/// before; a runner whose base moved or whose span was rewound meanwhile stores nothing; a stored summary
/// costs one commit and reaches the warm window in place, so the next reply reads no Spanner.
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class SummaryClaimTests(ManualSummaryFixture fixture) : ApiTestBase(fixture), IClassFixture<ManualSummaryFixture>
{
    private const string SummaryLabel = "Summary of the earlier conversation:\n";

    /// <summary>A chat of ten exchanges (20 turns): turns through 9 fall out of any window of 4 in it.</summary>
    private async Task<(string User, string ChatId)> LongChatAsync()
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

        return (user, chat.ChatId);
    }

    /// <summary>A runner as another replica would have it: same storage, Redis and routes, its own replica id (and options, when given).</summary>
    private SummaryJobRunner Replica(string replicaId, SummaryLeases? leases = null, SummaryOptions? options = null) => new(
        Fixture.Service<SummaryJobStore>(),
        leases ?? Fixture.Service<SummaryLeases>(),
        Fixture.Service<ModelRouter>(),
        options ?? Fixture.Service<IOptions<SummaryOptions>>().Value,
        replicaId,
        TimeProvider.System,
        NullLogger<SummaryJobRunner>.Instance);

    /// <summary>A copy of the service's summary options, for a runner configured otherwise.</summary>
    private SummaryOptions OptionsCopy()
    {
        var shared = Fixture.Service<IOptions<SummaryOptions>>().Value;
        var copy = new SummaryOptions();
        foreach (var property in typeof(SummaryOptions).GetProperties().Where(p => p.CanRead && p.CanWrite))
        {
            property.SetValue(copy, property.GetValue(shared));
        }

        return copy;
    }

    private IDatabase Redis => Fixture.Service<IConnectionMultiplexer>().GetDatabase();

    private SummaryLeases Leases => Fixture.Service<SummaryLeases>();

    /// <summary>A sweeper over leases of its own (as a replica just started has), queuing on the app's scheduler.</summary>
    private SummarySweeper FreshSweeper() => new(
        Fixture.Service<SummaryJobStore>(),
        new SummaryLeases(Fixture.Service<IServiceProvider>(), TimeProvider.System, NullLogger<SummaryLeases>.Instance),
        Fixture.Service<SummaryScheduler>(),
        Fixture.Service<IOptions<SummaryOptions>>(),
        TimeProvider.System,
        NullLogger<SummarySweeper>.Instance);

    private SpannerClientStatistics Spanner => Fixture.Service<SpannerDatabaseClient>().Statistics;

    private Task<long> SummaryCountAsync(string chatId) => Fixture.CountAsync("SELECT COUNT(*) FROM ChatSummaries WHERE ChatId = @c", ("c", chatId));

    [Fact]
    public async Task TwoReplicasRacingOnOneSpan_StoreOneSummary_FromOneModelCall()
    {
        var (_, chatId) = await LongChatAsync();
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

        // The lease was given back, and taken off the sweep's list.
        Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LeaseKey(chatId)));
        Assert.Null(await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9"));

        // A retry of the same span (a repeated trigger, or a job run again after a lost answer) stores nothing.
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-a").RunAsync(chatId, 9, Ct));
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-c").RunAsync(chatId, 9, Ct));
        Assert.Equal(1, await SummaryCountAsync(chatId));
        Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
    }

    [Fact]
    public async Task AJobLeasedByAKilledReplica_WaitsForItsLease_ThenTheSweepHandsItToAnother()
    {
        var (_, chatId) = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;

        // What a replica SIGKILLed between taking the lease and its commit leaves: the lease, listed for the sweep.
        await Redis.StringSetAsync(SummaryLeases.LeaseKey(chatId), "killed-replica|9|x", TimeSpan.FromHours(1));
        await Redis.SortedSetAddAsync(Leases.ListKey(chatId), $"{chatId}|9", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        try
        {
            Assert.Equal(SummaryRunOutcome.NotClaimed, await Replica("replica-b").RunAsync(chatId, 9, Ct));
            Assert.Equal(0, await SummaryCountAsync(chatId));
            Assert.Equal(before, fixture.Summarizer.Requests.Count);

            // Nothing expired yet: the sweep leaves it listed in its shard, and no job runs.
            await Fixture.Service<SummarySweeper>().SweepOnceAsync(Ct);
            await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), Ct);
            Assert.NotNull(await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9"));
            Assert.Equal(0, await SummaryCountAsync(chatId));

            // The lease runs out: a sweep (any replica's) finds the job in Redis and runs it.
            await Redis.KeyExpireAsync(SummaryLeases.LeaseKey(chatId), TimeSpan.FromMilliseconds(1));
            await Redis.SortedSetAddAsync(Leases.ListKey(chatId), $"{chatId}|9", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
            await Task.Delay(20, Ct);
            Assert.True(await Fixture.Service<SummarySweeper>().SweepOnceAsync(Ct) >= 1);
            await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), Ct);
        }
        finally
        {
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }

        var rows = await Fixture.Database.QueryListAsync(
            new SpannerStatement("SELECT Version, ThroughSeq, Replica FROM ChatSummaries WHERE ChatId = @c").Add("c", chatId), cancellationToken: Ct);
        var row = Assert.Single(rows);
        Assert.Equal((1L, 9L, Fixture.Service<IOptions<ChatOptions>>().Value.ReplicaId),
            (row.Get<long>("Version"), row.Get<long>("ThroughSeq"), row.Get<string>("Replica")));
        Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c", ("c", chatId)));
    }

    [Fact]
    public async Task AJobThatThrows_StaysListedForTheSweep_AndItsAttemptsAreCounted_UntilMaxAttempts()
    {
        var (_, chatId) = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;
        var maxAttempts = Fixture.Service<IOptions<SummaryOptions>>().Value.MaxAttempts;
        using var shutdown = new CancellationTokenSource();
        await shutdown.CancelAsync();
        try
        {
            // A job cut short (here by shutdown, before its snapshot read) gives its lease back but stays
            // listed, due after the retry delay, so any replica's sweep retries it.
            for (var attempt = 1; attempt <= maxAttempts; attempt++)
            {
                var started = DateTimeOffset.UtcNow;
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Replica("replica-a").RunAsync(chatId, 9, shutdown.Token));
                Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LeaseKey(chatId)));
                var due = await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9");
                Assert.NotNull(due);
                Assert.True(due >= started.ToUnixTimeMilliseconds(), "the entry is re-scored, not left at its old expiry");
                Assert.Equal(attempt, (long)await Redis.HashGetAsync(SummaryLeases.AttemptsKey(chatId), "9"));
            }

            // Crashes count: past Summary:MaxAttempts the span is left, and taken off the sweep's list. From
            // here the leases read a fake clock (the pause's script takes now from it), so the pause is
            // stepped over, not waited out: no stall of a loaded machine can end it early or late.
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var leases = new SummaryLeases(Fixture.Service<IServiceProvider>(), clock, NullLogger<SummaryLeases>.Instance);
            Assert.Equal(SummaryRunOutcome.NotClaimed, await Replica("replica-b", leases).RunAsync(chatId, 9, Ct));
            Assert.Null(await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9"));
            Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LeaseKey(chatId)));
            Assert.Equal(0, await SummaryCountAsync(chatId));
            Assert.Equal(before, fixture.Summarizer.Requests.Count);

            // Still resting just before Summary:GiveUpPause ends; after it the span is attempted afresh, not
            // left for good (every later trigger names this same span while the summary does not move).
            var pause = Fixture.Service<IOptions<SummaryOptions>>().Value.GiveUpPause;
            clock.Advance(pause - TimeSpan.FromMilliseconds(1));
            Assert.Equal(SummaryRunOutcome.NotClaimed, await Replica("replica-b", leases).RunAsync(chatId, 9, Ct));
            clock.Advance(TimeSpan.FromMilliseconds(2));
            Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-b", leases).RunAsync(chatId, 9, Ct));
            Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
        }
        finally
        {
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }
    }

    [Fact]
    public async Task AReleaseThatFindsAnotherRunnersLease_LeavesItsListing()
    {
        var (_, chatId) = await LongChatAsync();
        var leases = Fixture.Service<SummaryLeases>();
        var (mine, _) = await leases.TryAcquireAsync(chatId, 9, "replica-a", TimeSpan.FromSeconds(10), 5, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
        Assert.NotNull(mine);
        try
        {
            // Its lease expired and another runner took the chat's lease for the same span.
            await Redis.StringSetAsync(SummaryLeases.LeaseKey(chatId), "replica-b|9|y", TimeSpan.FromSeconds(10));
            var listed = await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9");
            Assert.NotNull(listed);
            await leases.ReleaseAsync(mine!, retryAfter: null, SummaryAttempts.Forget);
            Assert.Equal("replica-b|9|y", (string?)await Redis.StringGetAsync(SummaryLeases.LeaseKey(chatId)));
            Assert.Equal(listed, await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9"));
        }
        finally
        {
            await Redis.KeyDeleteAsync(SummaryLeases.LeaseKey(chatId));
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }
    }

    [Fact]
    public async Task AFailure_NeverShortensALongerFailedSpan_NorOutlivesARewindOfItsSpan()
    {
        var (user, chatId) = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();
        var (_, shorter, shorterSpan) = await store.PrepareAsync(chatId, 9, MemoryFixture.EveryTurns, 5, TimeSpan.FromMinutes(30), 24_000, Ct);
        var (_, longer, longerSpan) = await store.PrepareAsync(chatId, 13, MemoryFixture.EveryTurns, 5, TimeSpan.FromMinutes(30), 24_000, Ct);

        // The longer span's failure is recorded; the shorter one's, finishing later, leaves it as it is.
        Assert.True(await store.FailAsync(longer!, longerSpan!.ShownSeqs, "replica-a", "boom", TimeSpan.FromMinutes(1), [], Ct));
        Assert.False(await store.FailAsync(shorter!, shorterSpan!.ShownSeqs, "replica-b", "boom", TimeSpan.FromMinutes(1), [], Ct));
        Assert.Equal(13, await Fixture.CountAsync("SELECT ThroughSeq FROM SummaryJobs WHERE ChatId = @c", ("c", chatId)));

        // After a rewind inside the span, a failure of a job that read the span before it writes no row.
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chatId, ToSeq = 6, RequestId = "rewind-failed-span" }, cancellationToken: Ct);
        var left = await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND Attempts = 1 AND LastError = 'boom'", ("c", chatId));
        Assert.False(await store.FailAsync(longer!, longerSpan.ShownSeqs, "replica-a", "again", TimeSpan.FromMinutes(1), [], Ct));
        Assert.Equal(left, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND Attempts = 1 AND LastError = 'boom'", ("c", chatId)));
        // (The count above stays put also when the rewind took the row and a write made a new one: that would say 'again'.)
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND LastError = 'again'", ("c", chatId)));
    }

    [Fact]
    public async Task AReplicaWhoseLeaseRanOut_AndWhoseSpanAnotherStored_StoresNothing_ButLogsItsCall()
    {
        var (_, chatId) = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();
        var (status, claim, span) = await store.PrepareAsync(chatId, 9, MemoryFixture.EveryTurns, 5, TimeSpan.FromMinutes(30), 24_000, Ct);
        Assert.Equal(SummaryClaimStatus.Claimed, status);

        // Its lease ran out meanwhile, and another replica stored the span.
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("other-replica").RunAsync(chatId, 9, Ct));
        var call = new ModelCallRecord("summarizer", "summary-model", "ok", null, null, DateTimeOffset.UtcNow, null, DateTimeOffset.UtcNow, 1, 1);
        Assert.Null(await store.CommitAsync(claim!, span!, 9, "LATE", 4, "slow-replica", [call], Ct));

        Assert.Equal(1, await SummaryCountAsync(chatId));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatSummaries WHERE ChatId = @c AND Text = 'LATE'", ("c", chatId)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM SummaryCalls WHERE ChatId = @c AND Version IS NULL AND Replica = 'slow-replica'", ("c", chatId)));
    }

    [Fact]
    public async Task ARewindInsideTheSpan_WhileTheJobRuns_MakesItsCommitStoreNothing()
    {
        var (user, chatId) = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();
        var (_, claim, span) = await store.PrepareAsync(chatId, 9, MemoryFixture.EveryTurns, 5, TimeSpan.FromMinutes(30), 24_000, Ct);
        Assert.Contains(7L, span!.ShownSeqs);

        // Turns from 7 on are rewound while the model writes: a summary through 9 would tell of turns the chat no longer shows.
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chatId, ToSeq = 6, RequestId = "rewind-in-span" }, cancellationToken: Ct);
        Assert.Null(await store.CommitAsync(claim!, span, 9, "STALE", span.Turns.Count, "replica-a", [], Ct));
        Assert.Equal(0, await SummaryCountAsync(chatId));
    }

    [Fact]
    public async Task AStoredSummary_CostsOneCommit_AndEntersTheWarmWindowInPlace_SoTheNextReplyReadsNoSpanner()
    {
        var (user, chatId) = await LongChatAsync();
        await SendAsync(user, chatId, "warm");
        await Fixture.ChatCountsFoldedAsync(Ct);

        var (reads, commits) = (Spanner.SingleUseReads, Spanner.Commits);
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9, Ct));
        Assert.Equal(1, Spanner.Commits - commits);
        Assert.Equal(0, Spanner.SingleUseReads - reads);

        // The window's meta carries the new version (it was taken in place, not dropped).
        var meta = (byte[]?)await Redis.HashGetAsync(HistoryCache.WindowKey(chatId), "meta");
        Assert.NotNull(meta);
        var cached = ChatService.Cache.Proto.CachedChat.Parser.ParseFrom(meta);
        Assert.Equal((1L, 9L, "SUMMARY", 1L), (cached.SummaryVersion, cached.SummaryThroughSeq, cached.SummaryText, cached.SummaryGeneration));

        var before = fixture.Server.Requests.Count;
        var events = await SendAsync(user, chatId, "after the summary");
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(0, Spanner.SingleUseReads - reads);
        Assert.Contains(("system", SummaryLabel + "SUMMARY"), fixture.Server.Messages(before));
    }

    [Fact]
    public async Task AWindowLoadedAfterARewindDiscardedTheVersion_NeverTakesItBack()
    {
        var (user, chatId) = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9, Ct));

        // Version 1 is discarded by a rewind below it; the window is reloaded after that (generation 1, no live summary).
        await Fixture.Client(user).RewindChatAsync(new RewindChatRequest { ChatId = chatId, ToSeq = 8, RequestId = "rewind-below" }, cancellationToken: Ct);
        await Fixture.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);

        // A late apply of version 1 (as a slow writer's would come) leaves the window as it is.
        await Fixture.Service<HistoryCache>().ApplySummaryAsync(chatId, new ChatService.Chats.ChatSummary(1, 9, "DISCARDED", DateTimeOffset.UtcNow), intent: null);
        var meta = (byte[]?)await Redis.HashGetAsync(HistoryCache.WindowKey(chatId), "meta");
        Assert.NotNull(meta);
        var cached = ChatService.Cache.Proto.CachedChat.Parser.ParseFrom(meta);
        Assert.Equal((0L, 1L), (cached.SummaryVersion, cached.SummaryGeneration));
    }

    [Fact]
    public async Task ASpanWhoseFailedRowRanOutOfAttempts_StartsAfreshAfterTheGiveUpPause()
    {
        var (_, chatId) = await LongChatAsync();
        var store = Fixture.Service<SummaryJobStore>();

        // What MaxAttempts (3) failed calls leave: the row, its retry delay over a second ago.
        await Fixture.Database.WriteAsync(
        [
            SpannerMutation.InsertOrUpdate("SummaryJobs").Set("ChatId", chatId).Set("ThroughSeq", 9L).Set("Owner", "")
                .Set("LeaseUntil", DateTimeOffset.UtcNow.AddSeconds(-1)).Set("Attempts", 3L).Set("LastError", "boom")
                .Set("CreateTime", SpannerCommitTimestamp.Value),
        ], Ct);

        var (resting, _, _) = await store.PrepareAsync(chatId, 9, MemoryFixture.EveryTurns, 3, TimeSpan.FromHours(1), 24_000, Ct);
        Assert.Equal(SummaryClaimStatus.GaveUp, resting);

        var (rested, claim, _) = await store.PrepareAsync(chatId, 9, MemoryFixture.EveryTurns, 3, TimeSpan.FromMilliseconds(500), 24_000, Ct);
        Assert.Equal(SummaryClaimStatus.Claimed, rested);
        Assert.Equal((9L, 1), (claim!.ThroughSeq, claim.Attempt));
    }

    [Fact]
    public async Task AJobFromAWindowReadBeforeAStore_IsRefusedInRedis_WithoutReadingSpanner()
    {
        var (_, chatId) = await LongChatAsync();

        // Stored from a window that knew no summary (generation 0).
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9, Ct, knownGeneration: 0));
        var (snapshots, reads, queries) = (Spanner.Snapshots, Spanner.SingleUseReads, Spanner.Queries);

        // Another trigger from a window read before that store (generation 0), for the span or one fewer
        // than K turns longer: refused in Redis, no Spanner touched.
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-b").RunAsync(chatId, 9, Ct, knownGeneration: 0));
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-b").RunAsync(chatId, 9 + MemoryFixture.EveryTurns - 1, Ct, knownGeneration: 0));
        Assert.Equal((0L, 0L, 0L), (Spanner.Snapshots - snapshots, Spanner.SingleUseReads - reads, Spanner.Queries - queries));

        // A window that knows the store (generation 1), or a sweep's job, is not refused there: the store decides.
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-b").RunAsync(chatId, 9, Ct, knownGeneration: 1));
        Assert.Equal(1, Spanner.Snapshots - snapshots);
        Assert.Equal(SummaryRunOutcome.Covered, await Replica("replica-b").RunAsync(chatId, 9, Ct));
        Assert.Equal(2, Spanner.Snapshots - snapshots);
        Assert.Equal(1, await SummaryCountAsync(chatId));
    }

    [Fact]
    public async Task TheSweepsList_IsShardedByChat_AndTheSweepFindsExpiredLeasesInEveryShard()
    {
        var shards = Fixture.Service<IOptions<SummaryOptions>>().Value.LeaseShards;
        Assert.True(shards > 1);

        // Stable (not string.GetHashCode, which differs per process: the same chat must map to the same shard on
        // every replica and after restarts): FNV-1a of the id's UTF-8 bytes, pinned to values worked out by hand.
        // (Comparing two calls in one process could not fail, whatever the hash.)
        Assert.Equal((9, 0, 3, 5), (SummaryLeases.ShardOf("chat-a", 16), SummaryLeases.ShardOf("chat-b", 16), SummaryLeases.ShardOf("chat-c", 16), SummaryLeases.ShardOf("chat-a", 7)));
        var ids = Enumerable.Range(0, 400).Select(i => $"sharded-{i}-{Guid.NewGuid():N}").ToList();
        var used = ids.Select(id => SummaryLeases.ShardOf(id, shards)).Distinct().Count();
        Assert.True(used >= shards * 3 / 4, $"{used} of {shards} shards used by 400 chats");

        // Leases of killed replicas (expired, never given back), one per shard: one sweep finds them all.
        var killed = ids.GroupBy(id => SummaryLeases.ShardOf(id, shards)).Select(g => g.First()).ToList();
        var past = DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds();
        try
        {
            foreach (var id in killed)
            {
                Assert.Equal($"summary:leases:{{{SummaryLeases.ShardOf(id, shards)}}}", Leases.ListKey(id).ToString());
                await Redis.SortedSetAddAsync(Leases.ListKey(id), $"{id}|9", past);
            }

            // The shards are shared: other classes' expired entries may fill a round's batch, so rounds go on
            // until this test's own are all found (or ten rounds), not until as many entries of any chat came.
            var found = new List<(string ChatId, long ThroughSeq)>();
            for (var round = 0; round < 10 && found.Count(f => killed.Contains(f.ChatId)) < killed.Count; round++)
            {
                found.AddRange(await Leases.ExpiredAsync(killed.Count));
            }

            Assert.Equal(killed.Select(id => (id, 9L)).Order(), found.Where(f => killed.Contains(f.ChatId)).Order());
            foreach (var id in killed)
            {
                Assert.Null(await Redis.SortedSetScoreAsync(Leases.ListKey(id), $"{id}|9"));
            }
        }
        finally
        {
            foreach (var id in killed)
            {
                await Redis.SortedSetRemoveAsync(Leases.ListKey(id), $"{id}|9");
            }
        }
    }

    [Fact]
    public async Task EntriesOfTheUnshardedListOfTheReleaseBefore_AreSweptUntilItIsEmpty()
    {
        var (_, chatId) = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;
        var held = $"legacy-held-{Guid.NewGuid():N}";
        // A replica just upgraded: its own leases, which have not yet found the old list gone (the fixture's
        // sweeper stops reading it after its first sweep that finds it absent).
        var sweeper = FreshSweeper();

        // What replicas of the release before the sharding left in its one list: the lease of one killed
        // mid-job (expired), and one still held by a replica of that release (due in an hour).
        await Redis.SortedSetAddAsync(SummaryLeases.LegacyListKey, $"{chatId}|9", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
        await Redis.SortedSetAddAsync(SummaryLeases.LegacyListKey, $"{held}|9", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeMilliseconds());
        try
        {
            Assert.True(await sweeper.SweepOnceAsync(Ct) >= 1);
            await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), Ct);

            // The expired entry was taken off the old list and its job run (a summary through 9, one model call);
            // the held one waits there for its lease to run out.
            Assert.Null(await Redis.SortedSetScoreAsync(SummaryLeases.LegacyListKey, $"{chatId}|9"));
            Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatSummaries WHERE ChatId = @c AND ThroughSeq = 9", ("c", chatId)));
            Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
            Assert.NotNull(await Redis.SortedSetScoreAsync(SummaryLeases.LegacyListKey, $"{held}|9"));

            // Once it runs out, a sweep takes it too, and the old list is gone.
            await Redis.SortedSetAddAsync(SummaryLeases.LegacyListKey, $"{held}|9", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
            await sweeper.SweepOnceAsync(Ct);
            await Fixture.Service<SummaryScheduler>().IdleAsync(TimeSpan.FromSeconds(30), Ct);
            Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LegacyListKey));
        }
        finally
        {
            await Redis.SortedSetRemoveAsync(SummaryLeases.LegacyListKey, [$"{chatId}|9", $"{held}|9"]);
        }
    }

    [Fact]
    public async Task ASweepThatFindsTheUnshardedListAbsent_StopsReadingIt()
    {
        var sweeper = FreshSweeper();
        var chatId = $"legacy-late-{Guid.NewGuid():N}";
        await Redis.SortedSetRemoveAsync(SummaryLeases.LegacyListKey, $"{chatId}|9");
        Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LegacyListKey), "another test left the old list behind");

        // The first sweep finds the old list absent; an entry that turns up there afterwards (none of this
        // release writes it) is no longer read: it stays, expired as it is, through later sweeps.
        await sweeper.SweepOnceAsync(Ct);
        await Redis.SortedSetAddAsync(SummaryLeases.LegacyListKey, $"{chatId}|9", DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
        try
        {
            await sweeper.SweepOnceAsync(Ct);
            await sweeper.SweepOnceAsync(Ct);
            Assert.NotNull(await Redis.SortedSetScoreAsync(SummaryLeases.LegacyListKey, $"{chatId}|9"));
        }
        finally
        {
            await Redis.SortedSetRemoveAsync(SummaryLeases.LegacyListKey, $"{chatId}|9");
        }
    }

    [Fact]
    public async Task AJobWhoseFirstTurnDoesNotFitTheSummaryRoute_FailsAsAnAttempt_AndStoresNothing()
    {
        var (_, chatId) = await LongChatAsync();
        var before = fixture.Summarizer.Requests.Count;
        var budget = Fixture.Service<ModelRouter>().BudgetFor("summary");
        var options = OptionsCopy();
        var room = budget.ContextTokens - Math.Max(budget.ReplyReserveTokens, options.MaxOutputTokens);

        // Instructions that alone fill the summary route's room (1024 - 512 tokens here): not even a part of
        // the span's first turn fits after them.
        options.Instructions = string.Join(' ', Enumerable.Repeat("Summarize {{char}} with care.", 120));
        Assert.True(budget.Tokenizer.CountMessage(options.Instructions) > room, "the instructions leave room for a turn");
        // The failed job's row is due again at once: its retry gate compares with Spanner's clock
        // (CURRENT_TIMESTAMP), which no fake clock moves, so the test waits for no delay instead.
        options.RetryDelay = TimeSpan.Zero;
        try
        {
            Assert.Equal(SummaryRunOutcome.Failed, await Replica("replica-a", options: options).RunAsync(chatId, 9, Ct));

            // No model call and no summary through turns it never showed; recorded as a failed attempt (in the
            // job's row, for the sweep, and in the chat's Redis count, so MaxAttempts and the give-up pause bound it).
            Assert.Equal(before, fixture.Summarizer.Requests.Count);
            Assert.Equal(0, await SummaryCountAsync(chatId));
            Assert.Equal(1, await Fixture.CountAsync(
                "SELECT COUNT(*) FROM SummaryJobs WHERE ChatId = @c AND ThroughSeq = 9 AND Attempts = 1 AND STARTS_WITH(LastError, @e)",
                ("c", chatId), ("e", "the summary route's context leaves no room")));
            Assert.Equal(1L, (long)await Redis.HashGetAsync(SummaryLeases.AttemptsKey(chatId), "9"));
            Assert.False(await Redis.KeyExistsAsync(SummaryLeases.LeaseKey(chatId)));

            // With the instructions as configured, the span is summarized (its retry delay is over already).
            Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9, Ct));
            Assert.Equal(before + 1, fixture.Summarizer.Requests.Count);
        }
        finally
        {
            await Redis.KeyDeleteAsync([SummaryLeases.LeaseKey(chatId), SummaryLeases.AttemptsKey(chatId)]);
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }
    }

    [Fact]
    public async Task TheSummaryPrompt_KeepsToTheRoutesBudget_EndingItsSpanEarly_AndKeepsTheEarlierSummary()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        var padding = string.Join(" ", Enumerable.Repeat("lantern", 150));
        for (var i = 1; i <= 10; i++)
        {
            var events = await SendAsync(user, chat.ChatId, $"m{i} {padding}");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        }

        var options = Fixture.Service<IOptions<SummaryOptions>>().Value;
        var budget = Fixture.Service<ModelRouter>().BudgetFor("summary");
        var room = budget.ContextTokens - Math.Max(budget.ReplyReserveTokens, options.MaxOutputTokens);
        int PromptTokens(List<(string Role, string Content)> prompt) =>
            prompt.Sum(m => budget.Tokenizer.CountMessage(m.Content)) + PromptTokenizer.MessageOverhead;

        // The span through 9 is over the route's budget: the job sends its oldest turns that fit and ends there.
        var before = fixture.Summarizer.Requests.Count;
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chat.ChatId, 9, Ct));
        var first = fixture.Summarizer.Messages(before);
        Assert.True(PromptTokens(first) <= room, $"{PromptTokens(first)} tokens sent, {room} allowed");
        var through = await Fixture.CountAsync("SELECT ThroughSeq FROM ChatSummaries WHERE ChatId = @c AND Version = 1", ("c", chat.ChatId));
        Assert.InRange(through, 1, 8);
        Assert.Contains($"User: m1 {padding}", first[^1].Content);
        Assert.DoesNotContain("User: m5 ", first[^1].Content);

        // The next job takes up from there, with the earlier summary in its prompt.
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chat.ChatId, through + MemoryFixture.EveryTurns, Ct));
        var second = fixture.Summarizer.Messages(before + 1);
        Assert.True(PromptTokens(second) <= room, $"{PromptTokens(second)} tokens sent, {room} allowed");
        Assert.StartsWith("Earlier summary:\nSUMMARY\n", second[^1].Content);
        Assert.Equal(through + 1, await Fixture.CountAsync("SELECT FromSeq FROM ChatSummaries WHERE ChatId = @c AND Version = 2", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task ALongEarlierSummary_OnASmallSummaryContext_IsCutFromItsStart_SoTheNextTurnStillFits()
    {
        var (_, chatId) = await LongChatAsync();
        var options = Fixture.Service<IOptions<SummaryOptions>>().Value;
        var budget = Fixture.Service<ModelRouter>().BudgetFor("summary");
        var room = budget.ContextTokens - Math.Max(budget.ReplyReserveTokens, options.MaxOutputTokens);
        int PromptTokens(List<(string Role, string Content)> prompt) =>
            prompt.Sum(m => budget.Tokenizer.CountMessage(m.Content)) + PromptTokenizer.MessageOverhead;

        // A first summary longer than the whole room of the summary route (1024 - 512 tokens here).
        var longSummary = string.Join(" ", Enumerable.Repeat("tide", 700)) + " LAST-WORDS";
        longSummary = longSummary[^Math.Min(longSummary.Length, options.MaxSummaryChars)..];
        Assert.True(budget.Tokenizer.Count(longSummary) > room, "the earlier summary is not over the room");
        var before = fixture.Summarizer.Requests.Count;
        fixture.Summarizer.ReplyChunks = [longSummary];
        try
        {
            Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9, Ct));
        }
        finally
        {
            fixture.Summarizer.ReplyChunks = ["SUMMARY"];
        }

        // The next job's prompt keeps the earlier summary's newest part and the next turn's text (turn 10,
        // Ruby's reply), within the room; the summary it stores covers only turns it was shown.
        Assert.Equal(SummaryRunOutcome.Stored, await Replica("replica-a").RunAsync(chatId, 9 + MemoryFixture.EveryTurns, Ct));
        var prompt = fixture.Summarizer.Messages(before + 1);
        Assert.True(PromptTokens(prompt) <= room, $"{PromptTokens(prompt)} tokens sent, {room} allowed");
        Assert.StartsWith("Earlier summary:\n", prompt[^1].Content);
        Assert.Contains("LAST-WORDS\n", prompt[^1].Content);
        Assert.Contains("Ruby: Ahoy", prompt[^1].Content);
        Assert.DoesNotContain("\nRuby: \n", prompt[^1].Content + "\n");
        var through = await Fixture.CountAsync("SELECT ThroughSeq FROM ChatSummaries WHERE ChatId = @c AND Version = 2", ("c", chatId));
        Assert.InRange(through, 10, 9 + MemoryFixture.EveryTurns);
    }

    [Fact]
    public async Task ATriggerWhileTheLastPermittedAttemptRuns_IsHeld_NotExhausted()
    {
        var (_, chatId) = await LongChatAsync();
        var leases = Fixture.Service<SummaryLeases>();
        var (mine, _) = await leases.TryAcquireAsync(chatId, 9, "replica-a", TimeSpan.FromSeconds(30), 1, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
        Assert.NotNull(mine);
        try
        {
            // The one permitted attempt runs; a concurrent trigger for the span is told it is held: no pause
            // starts, and the running job's entry stays on the sweep's list.
            var listed = await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9");
            Assert.NotNull(listed);
            var (other, refusal) = await leases.TryAcquireAsync(chatId, 9, "replica-b", TimeSpan.FromSeconds(30), 1, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
            Assert.Null(other);
            Assert.Equal(SummaryLeaseRefusal.Held, refusal);
            Assert.Equal(listed, await Redis.SortedSetScoreAsync(Leases.ListKey(chatId), $"{chatId}|9"));
            Assert.False(await Redis.HashExistsAsync(SummaryLeases.AttemptsKey(chatId), "p9"));
        }
        finally
        {
            await Redis.KeyDeleteAsync([SummaryLeases.LeaseKey(chatId), SummaryLeases.AttemptsKey(chatId)]);
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }
    }

    [Fact]
    public async Task TheChatsSummaryHash_AlwaysKeepsATtl_SoAStaleStoredVersionHeals()
    {
        var (_, chatId) = await LongChatAsync();
        var leases = Fixture.Service<SummaryLeases>();
        var hash = SummaryLeases.AttemptsKey(chatId);
        try
        {
            // The hash evicted while a job ran: its release's HSET recreates it, with a TTL.
            var (mine, _) = await leases.TryAcquireAsync(chatId, 9, "replica-a", TimeSpan.FromSeconds(30), 3, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30));
            Assert.NotNull(mine);
            await Redis.KeyDeleteAsync(hash);
            await leases.ReleaseAsync(mine!, retryAfter: null, SummaryAttempts.Forget, new ChatService.Chats.ChatSummary(1, 9, "s", DateTimeOffset.UtcNow));
            Assert.Equal(1L, (long)await Redis.HashGetAsync(hash, "sv"));
            Assert.NotNull(await Redis.KeyTimeToLiveAsync(hash));

            // A hash left without a TTL (as an older release could leave it): a refusal it answers gives it one.
            await Redis.KeyPersistAsync(hash);
            Assert.Null(await Redis.KeyTimeToLiveAsync(hash));
            var (none, refusal) = await leases.TryAcquireAsync(chatId, 9, "replica-b", TimeSpan.FromSeconds(30), 3, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(30), knownGeneration: 0, everyTurns: MemoryFixture.EveryTurns);
            Assert.Null(none);
            Assert.Equal(SummaryLeaseRefusal.Stored, refusal);
            Assert.NotNull(await Redis.KeyTimeToLiveAsync(hash));
        }
        finally
        {
            await Redis.KeyDeleteAsync([SummaryLeases.LeaseKey(chatId), hash]);
            await Redis.SortedSetRemoveAsync(Leases.ListKey(chatId), $"{chatId}|9");
        }
    }
}
