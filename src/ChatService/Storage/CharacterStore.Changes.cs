using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

internal sealed partial class CharacterStore
{
    public async Task<Character> UpdateAsync(string characterId, Func<Character?, Character> change, CancellationToken cancellationToken)
    {
        var (changed, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = (await ReadAsync(tx, [characterId], ct)).FirstOrDefault();
            var next = change(current) with { Version = (current?.Version ?? 0) + 1 };
            tx.BufferWrite(CatalogEntries.Catalogued(SetDefinition(SpannerMutation.Update("Characters"), next)
                .Set("CharacterId", characterId)
                .Set("Version", next.Version)
                .Set("UpdateTime", SpannerCommitTimestamp.Value)));

            // A new name, tags or visibility moves the character in the catalog, in the same commit.
            CatalogEntries.Write(tx, current, next);
            return next;
        }, cancellationToken);

        var stored = changed with { UpdateTime = committed };
        Remember(stored);
        return stored;
    }

    public async Task<Character> DeleteAsync(string characterId, Action<Character?> check, CancellationToken cancellationToken)
    {
        var (current, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = (await ReadAsync(tx, [characterId], ct)).FirstOrDefault();
            check(current);
            if (current is { IsDeleted: false })
            {
                tx.BufferWrite(CatalogEntries.Catalogued(
                    SpannerMutation.Update("Characters").Set("CharacterId", characterId).Set("DeleteTime", SpannerCommitTimestamp.Value)));

                // A deleted character leaves every listing.
                CatalogEntries.Write(tx, current, after: null);
            }

            return current!;
        }, cancellationToken);

        var stored = current.IsDeleted ? current : current with { DeleteTime = committed };
        Remember(stored);
        return stored;
    }
}
