using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Kind = ChatService.Api.V1.ReplyEvent.EventOneofCase;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// A replica pair where B cannot reach Redis (its <c>Redis:Endpoints</c> is a port nothing listens
/// on) while A has the Redis Cluster. B is quiet (no recovery sweeps, no periodic health checks):
/// its followers' storage reads are all there is to count.
/// </summary>
public sealed class FollowerWithoutRedisFixture(LocalStack stack) : IAsyncLifetime
{
    public static readonly TimeSpan TimeToFirstToken = TimeSpan.FromMilliseconds(500);

    public const int TokensPerSecond = 20;

    public const int Tokens = 40;

    /// <summary>What one reply takes to generate: about 2.5 s.</summary>
    public static readonly TimeSpan Generation = TimeToFirstToken + TimeSpan.FromSeconds((double)Tokens / TokensPerSecond);

    public static readonly TimeSpan StoragePollInterval = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan FollowStorageMaxInterval = TimeSpan.FromSeconds(2);

    private ReplicaPair? _pair;

    public ReplicaPair Pair => _pair ?? throw new InvalidOperationException("The replica pair has not started.");

    public async ValueTask InitializeAsync()
    {
        var backends = ChatServiceFixture.PacedSimulatedBackend(TimeToFirstToken, TokensPerSecond, Tokens);
        var quiet = new Dictionary<string, string>(backends)
        {
            ["Dispatch:SweepInterval"] = "01:00:00",
            ["Health:Period"] = "01:00:00",
            ["Summary:SweepInterval"] = "01:00:00",
            ["DataDeletion:SweepInterval"] = "01:00:00",
            ["Dispatch:StoragePollInterval"] = StoragePollInterval.ToString("c", CultureInfo.InvariantCulture),
            ["Dispatch:FollowStorageMaxInterval"] = FollowStorageMaxInterval.ToString("c", CultureInfo.InvariantCulture),
        };
        var noRedis = new Dictionary<string, string> { ["Redis:Endpoints"] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{FreePort.Next()}") };
        _pair = await ReplicaPair.StartAsync(stack, "nr", backends, quiet, TestContext.Current.CancellationToken, stackOverridesOfB: noRedis);
    }

    public async ValueTask DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }
    }
}

/// <summary>
/// Issue 12 with Redis unreachable on the follower's replica: a reply generated on A and followed
/// on B completes on B with the stored text, found by storage reads that back off and are made
/// once per reply on B however many callers follow it; A's own caller gets every token live.
/// </summary>
public sealed class FollowerWithoutRedisTests(FollowerWithoutRedisFixture fixture) : IClassFixture<FollowerWithoutRedisFixture>
{
    /// <summary>The counter <c>chat.reply_follow.storage_reads</c> (meter ChatService.Dispatch) as B's /metrics names it.</summary>
    private const string StorageReads = "chat_reply_follow_storage_reads_total";

    private static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MomentGap = TimeSpan.FromMilliseconds(50);

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task StreamReply_OnAReplicaThatCannotReachRedis_CompletesWithTheStoredTextAfterFewStorageReads()
    {
        var pair = fixture.Pair;

        var run = await FollowOneReplyAsync(followers: 1);

        var reference = run.Reference;
        Assert.True(reference is [{ Event.EventCase: Kind.Accepted }, .., { Event.EventCase: Kind.Completed }],
            $"A's SendMessage:\n{ReplyRecording.Describe(reference.Select(a => a.Event))}\n{pair.Outputs()}");
        var text = string.Concat(reference.Where(a => a.Event.EventCase == Kind.Delta).Select(a => a.Event.Delta.Text));
        Assert.Equal(reference[^1].Event.Completed.Turn.Text, text);
        Assert.Equal(text, run.Stored.Text);
        Assert.Equal(TurnState.Complete, run.Stored.State);
        var moments = ReplyRecording.Moments(reference.Where(a => a.Event.EventCase == Kind.Delta), MomentGap);
        Assert.True(moments >= 10, $"A's caller got its {FollowerWithoutRedisFixture.Tokens} tokens at {moments} moments {MomentGap.TotalMilliseconds:0} ms apart: not live.\n{pair.Outputs()}");

        var events = run.Followers[0].Select(a => a.Event).ToList();
        var context = $"B's StreamReply:\n{ReplyRecording.Describe(events)}\n{pair.Outputs()}";
        Assert.True(events.Select(e => e.EventCase).SequenceEqual([Kind.Accepted, Kind.Started, Kind.Delta, Kind.Completed]), context);
        Assert.True(events.Select(e => e.Sequence).SequenceEqual([1L, 2L, 3L, 4L]), context);
        Assert.True(events[2].Delta.Text == run.Stored.Text && events[3].Completed.Turn.Text == run.Stored.Text, context);

        AssertFewStorageReads(run);

        // Once settled, the reply is replayed from storage.
        var replayedAt = Stopwatch.GetTimestamp();
        await using var replay = ReplyRecording.Start("B's StreamReply of the settled reply",
            pair.B.Client(run.User).StreamReply(new StreamReplyRequest { ChatId = reference[0].Event.ChatId, Seq = reference[0].Event.Seq }, cancellationToken: Ct), Ct);
        var replayed = (await replay.WaitForEndAsync(Step, pair.Outputs)).Select(a => a.Event).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine($"B replayed the settled reply in {Stopwatch.GetElapsedTime(replayedAt).TotalMilliseconds:0} ms");
        Assert.Equal(events.Select(ReplyRecording.Describe), replayed.Select(ReplyRecording.Describe));
    }

    [Fact]
    public async Task StreamReply_FiveFollowersOfOneReplyOnAReplicaThatCannotReachRedis_ReadStorageAsOftenAsOne()
    {
        var one = await FollowOneReplyAsync(followers: 1);
        var five = await FollowOneReplyAsync(followers: 5);

        foreach (var follower in five.Followers)
        {
            Assert.True(follower is [.., { Event.EventCase: Kind.Completed }] && follower[^1].Event.Completed.Turn.Text == five.Stored.Text,
                $"B's StreamReply:\n{ReplyRecording.Describe(follower.Select(a => a.Event))}\n{fixture.Pair.Outputs()}");
        }

        AssertFewStorageReads(one);
        AssertFewStorageReads(five);
        Assert.True(five.StorageReads <= one.StorageReads + 2,
            $"B read storage {five.StorageReads} times for 5 followers of a reply, {one.StorageReads} times for 1 follower of another.\n{fixture.Pair.Outputs()}");
    }

    /// <summary>
    /// Sends a message on A and has <paramref name="followers"/> callers on B follow its reply from
    /// Accepted to its end; B's storage reads for them are counted from B's /metrics.
    /// </summary>
    private async Task<Run> FollowOneReplyAsync(int followers)
    {
        var pair = fixture.Pair;
        var (user, chatIds) = await pair.NewChatsAsync(1, route: null, Ct);
        var before = await MetricsScrape.TakeAsync(Http, pair.B, Ct);
        await using var reference = ReplyRecording.Start("A's SendMessage",
            pair.A.Client(user).SendMessage(new SendMessageRequest { ChatId = chatIds[0], Text = "tell me a story" }, cancellationToken: Ct), Ct);
        var reply = (await reference.WaitForAsync("accepted", e => e.EventCase == Kind.Accepted, Step, pair.Outputs)).Event;

        var followedAt = Stopwatch.GetTimestamp();
        var recordings = Enumerable.Range(0, followers)
            .Select(i => ReplyRecording.Start(
                string.Create(CultureInfo.InvariantCulture, $"B's StreamReply {i + 1} of {followers}"),
                pair.B.Client(user).StreamReply(
                    new StreamReplyRequest { ChatId = reply.ChatId, Seq = reply.Seq, CandidateId = reply.CandidateId }, cancellationToken: Ct),
                Ct))
            .ToList();
        try
        {
            var expected = await reference.WaitForEndAsync(FollowerWithoutRedisFixture.Generation + Step, pair.Outputs);
            var seen = new List<IReadOnlyList<Arrival>>();
            foreach (var recording in recordings)
            {
                seen.Add(await recording.WaitForEndAsync(FollowerWithoutRedisFixture.FollowStorageMaxInterval + Step, pair.Outputs));
            }

            var lastEnd = seen.Max(s => s.Count == 0 ? followedAt : s[^1].At);
            var after = await MetricsScrape.TakeAsync(Http, pair.B, Ct);
            Assert.True(after.Has(StorageReads), $"B's /metrics lists no {StorageReads} after following a reply without Redis.\n{pair.Outputs()}");
            var stored = await pair.StoredTurnAsync(pair.A, user, reply.ChatId, reply.Seq, Ct);
            var run = new Run(
                user,
                expected,
                seen,
                stored,
                (int)(after[StorageReads] - before[StorageReads]),
                Stopwatch.GetElapsedTime(followedAt, lastEnd),
                Stopwatch.GetElapsedTime(expected[^1].At, lastEnd));
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{followers} follower(s) on B: {run.StorageReads} storage reads over {run.Following.TotalMilliseconds:0} ms of following; " +
                $"B's last follower ended {run.Lag.TotalMilliseconds:0} ms after A's caller got the final event"));
            return run;
        }
        finally
        {
            foreach (var recording in recordings)
            {
                await recording.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// No more storage reads than one per interval of the backoff (250 ms doubling to 2 s) over the
    /// time B's callers followed the reply, plus one: the count for one reply, whoever follows it.
    /// </summary>
    private void AssertFewStorageReads(Run run)
    {
        var most = 1;
        var at = TimeSpan.Zero;
        var interval = FollowerWithoutRedisFixture.StoragePollInterval;
        while (at <= run.Following)
        {
            most++;
            at += interval;
            interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, FollowerWithoutRedisFixture.FollowStorageMaxInterval.Ticks));
        }

        Assert.True(run.StorageReads >= 1 && run.StorageReads <= most,
            $"B read storage {run.StorageReads} times for {run.Followers.Count} follower(s) of a reply it followed for {run.Following.TotalMilliseconds:0} ms; " +
            $"backing off from {FollowerWithoutRedisFixture.StoragePollInterval.TotalMilliseconds:0} ms to {FollowerWithoutRedisFixture.FollowStorageMaxInterval.TotalMilliseconds:0} ms " +
            $"that is at most {most}.\n{fixture.Pair.Outputs()}");
    }

    /// <param name="User">Who sent the message.</param>
    /// <param name="Reference">A's SendMessage.</param>
    /// <param name="Followers">Each StreamReply on B.</param>
    /// <param name="StorageReads">B's storage reads for its followers meanwhile.</param>
    /// <param name="Following">From the first StreamReply on B to the end of the last.</param>
    /// <param name="Lag">From A's final event to the end of B's last follower.</param>
    private sealed record Run(
        string User,
        IReadOnlyList<Arrival> Reference,
        IReadOnlyList<IReadOnlyList<Arrival>> Followers,
        Turn Stored,
        int StorageReads,
        TimeSpan Following,
        TimeSpan Lag);
}
