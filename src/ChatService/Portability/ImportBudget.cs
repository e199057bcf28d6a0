namespace ChatService.Portability;

/// <summary>
/// What an import commit costs in Spanner's mutation count (each column of each row written, and each index
/// entry it may make), per row of each table an import writes. An estimate kept above what is sent: the
/// columns <see cref="Storage.TurnMutations.InsertImported"/> writes for each row, plus every index of its
/// table (ChatImportBatchTests checks the commits actually sent against it).
/// </summary>
internal static class ImportBudget
{
    /// <summary>A turn row: 12 columns, and the request id index it never enters (no request id).</summary>
    public const int Turn = 13;

    /// <summary>A candidate row: 11 columns, and its two null-filtered indexes.</summary>
    public const int Candidate = 13;

    /// <summary>A rating row: 8 columns, no index.</summary>
    public const int Rating = 8;

    /// <summary>A revision row: 6 columns, no index.</summary>
    public const int Revision = 6;

    /// <summary>
    /// What every batch costs besides its turns: the ChatImports update (5 columns), and in the last batch the
    /// chat's update (10 columns, and the old and new entries of its two indexes).
    /// </summary>
    public const int Batch = 24;

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
