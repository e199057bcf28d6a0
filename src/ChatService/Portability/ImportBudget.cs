namespace ChatService.Portability;

/// <summary>
/// What an import commit costs in Spanner's mutation count, per row of each table an import writes. Spanner
/// counts an insert or update as the columns it writes, plus, for each secondary index the row enters or
/// changes, that index's columns (its keys and stored columns). Imported rows enter no index: Turns and
/// Candidates have only NULL_FILTERED indexes (TurnsByRequestId, CandidatesByRequestId, OwedReplies), whose
/// columns an imported row leaves null. So a row costs its columns; the estimates keep a little above the
/// columns <see cref="Storage.TurnMutations.InsertImported"/> writes. Only the column part is tested
/// (ImportLimitsTests, against the commits actually sent, as spanner.client.commit.mutations counts them):
/// the emulator neither returns commit statistics nor enforces Spanner's 80,000 limit.
/// </summary>
internal static class ImportBudget
{
    /// <summary>A turn row: 12 columns (RequestId null: no TurnsByRequestId entry), and one spare.</summary>
    public const int Turn = 13;

    /// <summary>A candidate row: 11 columns (RequestId and OwedShard null: no index entry), and two spare.</summary>
    public const int Candidate = 13;

    /// <summary>A rating row: 8 columns; Ratings has no index.</summary>
    public const int Rating = 8;

    /// <summary>A revision row: 6 columns; TurnRevisions has no index.</summary>
    public const int Revision = 6;

    /// <summary>
    /// What every batch costs besides its turns: the ChatImports update (5 columns; no index), and in the
    /// last batch the Chats update (9 columns) that moves the chat into both of Chats' indexes, counted as
    /// the old and the new entry of each: ChatsByUser (9 columns with ChatId and its stored ones) and
    /// ChatsByUserArchive (11), 2 * (9 + 11) = 40. 54 in all, kept at 64.
    /// </summary>
    public const int Batch = 64;

    /// <summary>The mutations one turn costs: its row, its candidates, their ratings and its revisions.</summary>
    public static int Of(ArchivedTurn turn)
    {
        var rated = 0;
        foreach (var candidate in turn.Candidates)
        {
            rated += candidate.Rating is null ? 0 : 1;
        }

        return Turn + turn.Candidates.Count * Candidate + rated * Rating + turn.Revisions.Count * Revision;
    }

    /// <summary>The most one turn can cost within <paramref name="options"/>: every candidate rated, every revision kept.</summary>
    public static int WorstTurn(ImportOptions options) =>
        Turn + options.MaxCandidatesPerTurn * (Candidate + Rating) + Storage.TurnEdits.MaxRevisions * Revision;
}
