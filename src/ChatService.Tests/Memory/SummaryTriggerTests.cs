using ChatService.Memory;

namespace ChatService.Tests.Memory;

/// <summary>When a reply makes a summary due, and through which turn (K turns, at most M per job; W the window in the exchange-by-exchange case).</summary>
public sealed class SummaryTriggerTests
{
    private const int W = 20;
    private const int K = 10;
    private const int M = 50;

    [Theory]
    // The prompt starts at the chat's first turn (or kept none of it: 0 is never passed, see OldestKept).
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    // Fewer than K turns fell out past the summary.
    [InlineData(10, 0)]
    [InlineData(40, 30)]
    [InlineData(41, 31)]
    public void NotDue(long oldestKeptSeq, long summarizedThrough) =>
        Assert.Null(SummaryTrigger.DueThrough(oldestKeptSeq, summarizedThrough, K, M));

    [Theory]
    // Exactly K fell out: due, through the last turn that fell out.
    [InlineData(11, 0, 10)]
    [InlineData(41, 30, 40)]
    // More than K (a trigger was missed, turns were hidden, or the token budget dropped more than the window would): all of them.
    [InlineData(60, 30, 59)]
    // A backlog longer than M: M now, the rest at the next trigger.
    [InlineData(500, 0, 50)]
    [InlineData(500, 50, 100)]
    public void Due_ThroughTheLastTurnThatFellOut_AtMostMPastTheSummary(long oldestKeptSeq, long summarizedThrough, long expected) =>
        Assert.Equal(expected, SummaryTrigger.DueThrough(oldestKeptSeq, summarizedThrough, K, M));

    [Theory]
    // The assembler's oldest recent turn, whatever the window held.
    [InlineData(35, 60, 35)]
    // No recent turn kept: every turn up to the window's newest fell out.
    [InlineData(0, 60, 61)]
    public void OldestKept_IsTheAssemblersOldestRecentTurn(long oldestRecentSeq, long windowNewestSeq, long expected) =>
        Assert.Equal(expected, SummaryTrigger.OldestKept(oldestRecentSeq, windowNewestSeq));

    [Fact]
    public void ExchangeByExchange_ASummaryIsDueOncePerKTurns()
    {
        // A chat of user turn + reply per exchange: the reply of exchange i is turn 2i, its prompt holds 2i-W..2i-1.
        long summarized = 0;
        var dueAt = new List<(int Exchange, long Through)>();
        for (var i = 1; i <= 100; i++)
        {
            var oldest = Math.Max(1, (2 * i) - W);
            if (SummaryTrigger.DueThrough(oldest, summarized, K, M) is { } through)
            {
                dueAt.Add((i, through));
                summarized = through;
            }
        }

        Assert.Equal(Enumerable.Range(0, 17).Select(n => (16 + (5 * n), 11L + (10 * n))), dueAt);
        Assert.All(dueAt.Zip(dueAt.Skip(1)), pair => Assert.Equal(K, pair.Second.Through - pair.First.Through));
    }

    [Fact]
    public void BadSettings_AreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SummaryTrigger.DueThrough(50, 0, 0, M));
        Assert.Throws<ArgumentOutOfRangeException>(() => SummaryTrigger.DueThrough(50, 0, K, K - 1));
    }
}
