using System.ComponentModel.DataAnnotations;

namespace ChatService.Portability;

/// <summary>Bounds of ImportChat and how it writes. Bound from the <c>Import</c> section.</summary>
public sealed class ImportOptions
{
    public const string Section = "Import";

    /// <summary>
    /// Largest file ImportChat takes, in bytes; the request may be 16 KiB more (its other fields). A bigger
    /// one is refused before it is read (RESOURCE_EXHAUSTED, as every request over its method's size).
    /// Default: 8 MiB.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Most turns (messages) a file may have. Default: 20,000.</summary>
    [Range(1, 1_000_000)]
    public int MaxTurns { get; set; } = 20_000;

    /// <summary>
    /// Most candidates (swipes) a file may have in all, whatever its turns: each is a record held in memory for
    /// the whole import (some 200 bytes beyond its text, docs/capacity.md), so this and <see cref="MaxTurns"/>
    /// bound an import's memory where <see cref="MaxBytes"/> alone would not (8 MiB of empty swipes is some
    /// 2.8 million). More is INVALID_ARGUMENT naming the line that passes it. Default: 100,000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxCandidates { get; set; } = 100_000;

    /// <summary>
    /// Most candidates (swipes) a turn may have: at most what a turn of the service may hold
    /// (32, ReplyLedger.MaxCandidatesPerTurn), so regenerating an imported turn works as on any other.
    /// Default: 32.
    /// </summary>
    [Range(1, Storage.ReplyLedger.MaxCandidatesPerTurn)]
    public int MaxCandidatesPerTurn { get; set; } = Storage.ReplyLedger.MaxCandidatesPerTurn;

    /// <summary>
    /// Longest text of a reply's candidate or of a reply's earlier text, in characters (UTF-16 code units). A
    /// user's message and its earlier texts are held to Chat:MaxMessageBytes, as SendMessage holds them. Default: 100,000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxTextChars { get; set; } = 100_000;

    /// <summary>
    /// Most mutations one import commit may hold, counted as Spanner counts them: the columns each row
    /// writes, plus the columns of each secondary index entry it makes or changes (imported turns and
    /// candidates make none; ImportBudget). Spanner refuses a commit over 80,000. Default: 40,000, half of it.
    /// </summary>
    [Range(100, 80_000)]
    public int BatchMutations { get; set; } = 40_000;

    /// <summary>Most turns one import commit writes, whatever their mutations. Default: 1,000.</summary>
    [Range(1, 100_000)]
    public int BatchTurns { get; set; } = 1_000;

    /// <summary>
    /// Most imports one process runs at once, whoever asked: each holds its file and parsed turns (tens of
    /// MiB at worst, docs/capacity.md), so this bounds what imports take of a replica's memory. One more is
    /// RESOURCE_EXHAUSTED with a retry delay. Default: 4.
    /// </summary>
    [Range(1, 1_000)]
    public int MaxConcurrent { get; set; } = 4;

    /// <summary>
    /// Most imports one user runs at once on a process, so one user cannot take every slot of
    /// <see cref="MaxConcurrent"/>. One more is RESOURCE_EXHAUSTED with a retry delay. Default: 1.
    /// </summary>
    [Range(1, 100)]
    public int MaxConcurrentPerUser { get; set; } = 1;
}
