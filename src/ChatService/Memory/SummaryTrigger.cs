namespace ChatService.Memory;

/// <summary>When a reply makes a chat's summary due, and up to which turn: pure, so that every replica decides alike.</summary>
public static class SummaryTrigger
{
    /// <summary>
    /// The turn a new summary should cover through, or null when none is due. Turns fell out of the prompt
    /// window when the window is full (<paramref name="promptTurns"/> = <paramref name="windowTurns"/>): every
    /// turn before its oldest, <paramref name="oldestPromptSeq"/>. A summary is due once at least
    /// <paramref name="everyTurns"/> of them are past <paramref name="summarizedThrough"/>; it covers them all,
    /// at most <paramref name="maxTurnsPerJob"/> past it (the rest is due at the next trigger).
    /// </summary>
    /// <param name="oldestPromptSeq">The oldest turn among the reply's recent turns.</param>
    /// <param name="promptTurns">How many recent turns the reply's context holds.</param>
    /// <param name="windowTurns">How many it holds at most (<c>Dispatch:PromptWindowTurns</c>).</param>
    /// <param name="summarizedThrough">The last turn the chat's summary covers; 0 with none.</param>
    public static long? DueThrough(long oldestPromptSeq, int promptTurns, int windowTurns, long summarizedThrough, int everyTurns, int maxTurnsPerJob)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(everyTurns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTurnsPerJob, everyTurns);
        if (promptTurns < windowTurns || promptTurns == 0)
        {
            // Every shown turn before the reply is in its prompt: nothing fell out.
            return null;
        }

        var fellOutThrough = oldestPromptSeq - 1;
        if (fellOutThrough - summarizedThrough < everyTurns)
        {
            return null;
        }

        return Math.Min(fellOutThrough, summarizedThrough + maxTurnsPerJob);
    }
}
