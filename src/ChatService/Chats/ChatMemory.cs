namespace ChatService.Chats;

/// <summary>
/// What a chat remembers beyond its recent turns, as stored: the user's memory note with its depth,
/// and the latest rolling summary of the turns that fell out of the prompt window.
/// </summary>
/// <param name="Note">The memory note; null when the chat has none.</param>
/// <param name="Depth">
/// Where the note goes as the user set it: null for the configured default (<see cref="MemoryOptions.DefaultDepth"/>),
/// <see cref="AheadOfTurns"/> ahead of the recent turns, n &gt;= 0 that many messages above the newest.
/// </param>
/// <param name="Summary">The chat's latest summary that was not discarded; null when it has none.</param>
public sealed record ChatMemory(string? Note, int? Depth, ChatSummary? Summary, DateTimeOffset? UpdateTime = null)
{
    /// <summary>The depth that puts the note ahead of the recent turns (after the pins).</summary>
    public const int AheadOfTurns = -1;

    /// <summary>
    /// The newest summary version the chat ever had, discarded or not (0: none). Versions are numbered one
    /// past this, so a window that knew generation n - 1 was loaded before version n was stored, and may
    /// take it in place (see <see cref="ChatChangeKind.Summary"/>); 0 also in windows cached without it.
    /// </summary>
    public long SummaryGeneration { get; init; }

    /// <summary>A chat that remembers nothing.</summary>
    public static readonly ChatMemory Empty = new(null, null, null);

    /// <summary>
    /// The note's place in a prompt: null ahead of the recent turns, else messages above the newest;
    /// the chat's own depth when it set one, else <paramref name="defaultDepth"/>.
    /// </summary>
    public int? EffectiveDepth(int? defaultDepth) => (Depth ?? defaultDepth) is { } depth && depth >= 0 ? depth : null;
}

/// <summary>One version of a chat's rolling summary: the shown turns up to <see cref="ThroughSeq"/>, folded into a text.</summary>
public sealed record ChatSummary(long Version, long ThroughSeq, string Text, DateTimeOffset CreateTime);
