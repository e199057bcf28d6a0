using ChatService.Memory;

namespace ChatService.Tests.Memory;

/// <summary>When a reply makes a summary due, and through which turn (window W, K turns, at most M per job).</summary>
public sealed class SummaryTriggerTests
{
    private const int W = 20;
    private const int K = 10;
    private const int M = 50;

    [Theory]
    // A window that is not full holds every shown turn before the reply: nothing fell out.
    [InlineData(1, 5, 0)]
    [InlineData(40, 19, 0)]
    [InlineData(1, 0, 0)]
    // Full, but fewer than K turns fell out past the summary.
    [InlineData(1, W, 0)]
    [InlineData(10, W, 0)]
    [InlineData(40, W, 30)]
    [InlineData(41, W, 31)]
    public void NotDue(long oldestPromptSeq, int promptTurns, long summarizedThrough) =>
        Assert.Null(SummaryTrigger.DueThrough(oldestPromptSeq, promptTurns, W, summarizedThrough, K, M));

    [Theory]
    // Exactly K fell out: due, through the last turn that fell out.
    [InlineData(11, 0, 10)]
    [InlineData(41, 30, 40)]
    // More than K (a trigger was missed, or turns were hidden): all of them.
    [InlineData(60, 30, 59)]
    // A backlog longer than M: M now, the rest at the next trigger.
    [InlineData(500, 0, 50)]
    [InlineData(500, 50, 100)]
    public void Due_ThroughTheLastTurnThatFellOut_AtMostMPastTheSummary(long oldestPromptSeq, long summarizedThrough, long expected) =>
        Assert.Equal(expected, SummaryTrigger.DueThrough(oldestPromptSeq, W, W, summarizedThrough, K, M));

    [Fact]
    public void ExchangeByExchange_ASummaryIsDueOncePerKTurns()
    {
        // A chat of user turn + reply per exchange: the reply of exchange i is turn 2i, its prompt holds 2i-W..2i-1.
        long summarized = 0;
        var dueAt = new List<(int Exchange, long Through)>();
        for (var i = 1; i <= 100; i++)
        {
            var oldest = Math.Max(1, (2 * i) - W);
            var turns = (int)Math.Min(W, (2 * i) - 1);
            if (SummaryTrigger.DueThrough(oldest, turns, W, summarized, K, M) is { } through)
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
        Assert.Throws<ArgumentOutOfRangeException>(() => SummaryTrigger.DueThrough(50, W, W, 0, 0, M));
        Assert.Throws<ArgumentOutOfRangeException>(() => SummaryTrigger.DueThrough(50, W, W, 0, K, K - 1));
    }
}
