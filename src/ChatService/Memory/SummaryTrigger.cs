namespace ChatService.Memory;

/// <summary>When a reply makes a chat's summary due, and up to which turn: pure, so that every replica decides alike.</summary>
public static class SummaryTrigger
{
    /// <summary>
    /// The turn a new summary should cover through, or null when none is due. The turns that fell out of
    /// the reply's prompt are every turn before the oldest recent turn the assembler kept,
    /// <paramref name="oldestKeptSeq"/>: whether the window's turn count or the token budget dropped them,
    /// so no turn is left out of both the prompt and (once K gather) the summary. A summary is due once at
    /// least <paramref name="everyTurns"/> of them are past <paramref name="summarizedThrough"/>; it covers
    /// them all, at most <paramref name="maxTurnsPerJob"/> past it (the rest is due at the next trigger).
    /// </summary>
    /// <param name="oldestKeptSeq">The oldest recent turn in the reply's prompt (<c>AssembledPrompt.OldestRecentSeq</c>); 0 or 1 when nothing fell out.</param>
    /// <param name="summarizedThrough">The last turn the chat's summary covers; 0 with none.</param>
    public static long? DueThrough(long oldestKeptSeq, long summarizedThrough, int everyTurns, int maxTurnsPerJob)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(everyTurns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTurnsPerJob, everyTurns);
        if (oldestKeptSeq <= 1)
        {
            // The prompt starts at the chat's first turn: nothing fell out.
            return null;
        }

        var fellOutThrough = oldestKeptSeq - 1;
        if (fellOutThrough - summarizedThrough < everyTurns)
        {
            return null;
        }

        return Math.Min(fellOutThrough, summarizedThrough + maxTurnsPerJob);
    }

    /// <summary>
    /// The oldest turn a reply's prompt kept: the assembler's <paramref name="oldestRecentSeq"/>, or, when
    /// it kept no recent turn (0), the turn after the newest in <paramref name="windowNewestSeq"/>'s window, since
    /// then every turn before the reply fell out.
    /// </summary>
    public static long OldestKept(long oldestRecentSeq, long windowNewestSeq) =>
        oldestRecentSeq > 0 ? oldestRecentSeq : windowNewestSeq + 1;

    /// <summary>
    /// The oldest turn a summary must leave alone after a reply: the older of the one its prompt kept
    /// (<paramref name="oldestKeptSeq"/>, see <see cref="OldestKept"/>) and the one the history's own ceiling
    /// would hold without the prompt's one-offs (<paramref name="historyCeilingSeq"/>, <c>AssembledPrompt.HistoryCeilingSeq</c>;
    /// 0 when unknown). A one-off budget cut (one huge message, a burst of lore) then drops turns from that
    /// prompt but not from the summary's reach: the next prompts show them again.
    /// </summary>
    public static long OldestToKeep(long oldestKeptSeq, long historyCeilingSeq) =>
        historyCeilingSeq > 0 ? Math.Min(oldestKeptSeq, historyCeilingSeq) : oldestKeptSeq;
}
