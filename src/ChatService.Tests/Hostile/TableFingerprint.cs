using System.Security.Cryptography;
using System.Text;
using Spanner.Client;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Every row of every table of the service's database, each rendered with all its columns (so a
/// changed commit timestamp, lease or text shows as much as an added or deleted row).
/// </summary>
internal sealed class TableFingerprint
{
    private static readonly string[] Tables = ["Characters", "Chats", "Turns", "Candidates", "ModelCalls", "Personas", "PersonaOverrides", "CatalogTerms", "CharacterChatCounts", "Lorebooks", "ChatLorebooks", "ChatSummaries", "SummaryJobs", "SummaryCalls", "ChatImports", "DataDeletions"];

    private readonly Dictionary<string, HashSet<string>> _rows;

    private TableFingerprint(Dictionary<string, HashSet<string>> rows) => _rows = rows;

    public static async Task<TableFingerprint> TakeAsync(SpannerDatabaseClient database, CancellationToken cancellationToken)
    {
        var rows = new Dictionary<string, HashSet<string>>();
        foreach (var table in Tables)
        {
            var result = await database.QueryListAsync(new SpannerStatement($"SELECT * FROM {table}"), cancellationToken: cancellationToken);
            rows[table] = result.Select(r => r.ToString()).ToHashSet();
        }

        return new TableFingerprint(rows);
    }

    /// <summary>What differs from <paramref name="before"/>, table by table (a few rows each); empty when nothing does.</summary>
    public IReadOnlyList<string> ChangesSince(TableFingerprint before)
    {
        var changes = new List<string>();
        foreach (var table in Tables)
        {
            var added = _rows[table].Except(before._rows[table]).ToList();
            var removed = before._rows[table].Except(_rows[table]).ToList();
            changes.AddRange(added.Take(3).Select(r => $"{table} +{Shorten(r)}"));
            changes.AddRange(removed.Take(3).Select(r => $"{table} -{Shorten(r)}"));
            if (added.Count + removed.Count > 6)
            {
                changes.Add($"{table}: {added.Count} rows added, {removed.Count} removed in all");
            }
        }

        return changes;
    }

    public override string ToString() =>
        string.Join(", ", Tables.Select(t => $"{t}={_rows[t].Count}")) + " #" +
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", Tables.SelectMany(t => _rows[t].Order(StringComparer.Ordinal))))))[..12];

    private static string Shorten(string row) => row.Length <= 400 ? row : row[..400] + "…";
}
