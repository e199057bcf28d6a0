using Microsoft.Extensions.Options;

namespace ChatService.Portability;

/// <summary>
/// Checks what data annotations cannot: that one commit can always hold the largest turn the limits let a
/// file carry (otherwise an import of such a turn would send a commit over Import:BatchMutations, or over
/// Spanner's 80,000, and fail at that batch every time it is retried), and that the per-user bound of
/// concurrent imports fits within the process's.
/// </summary>
internal sealed class ImportOptionsValidator : IValidateOptions<ImportOptions>
{
    public ValidateOptionsResult Validate(string? name, ImportOptions options)
    {
        var errors = new List<string>();
        var needed = ImportBudget.Batch + ImportBudget.WorstTurn(options);
        if (options.BatchMutations < needed)
        {
            errors.Add(
                $"Import:BatchMutations ({options.BatchMutations}) must hold the largest turn a file may carry: {needed} mutations " +
                $"with Import:MaxCandidatesPerTurn {options.MaxCandidatesPerTurn} (each rated) and {Storage.TurnEdits.MaxRevisions} revisions; " +
                "raise it or lower Import:MaxCandidatesPerTurn.");
        }

        if (options.MaxCandidates < options.MaxCandidatesPerTurn)
        {
            errors.Add("Import:MaxCandidates must be at least Import:MaxCandidatesPerTurn.");
        }

        if (options.MaxConcurrentPerUser > options.MaxConcurrent)
        {
            errors.Add("Import:MaxConcurrentPerUser must be at most Import:MaxConcurrent.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
