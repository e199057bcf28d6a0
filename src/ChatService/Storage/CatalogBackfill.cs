using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Schema version 6's data step: catalog rows for the characters created before it, so that every
/// listing, a user's own included, still shows them. Runs once per database, after the schema's DDL
/// and before version 6 is recorded (an interrupted run starts over at the next start); each batch
/// reads its characters again in the transaction that writes their rows, so a character changed
/// meanwhile gets the rows of what it is now. Characters created afterwards by replicas of the
/// previous release (during a rolling update) get theirs with their first new chat, whose count fold
/// writes all of a character's rows.
/// </summary>
internal static class CatalogBackfill
{
    /// <summary>Characters per commit: each has up to about 2,000 rows, so a batch stays inside Spanner's mutation limit.</summary>
    private const int Batch = 20;

    public static async Task RunAsync(SpannerDatabaseClient database, CancellationToken cancellationToken)
    {
        var after = "";
        while (true)
        {
            var ids = (await database.QueryListAsync(
                    new SpannerStatement("SELECT CharacterId FROM Characters WHERE CharacterId > @after ORDER BY CharacterId LIMIT @limit")
                        .Add("after", after)
                        .Add("limit", (long)Batch),
                    cancellationToken: cancellationToken))
                .Select(r => r.Get<string>("CharacterId"))
                .ToList();
            if (ids.Count == 0)
            {
                return;
            }

            await database.RunInTransactionAsync(async (tx, ct) =>
            {
                foreach (var character in await CharacterStore.ReadAsync(tx, ids, ct))
                {
                    CatalogEntries.Write(tx, before: null, after: character);
                }
            }, cancellationToken);
            after = ids[^1];
        }
    }
}
