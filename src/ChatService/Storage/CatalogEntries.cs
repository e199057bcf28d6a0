using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The catalog's rows of each character (the CatalogTerms table and its two indexes, see
/// 0006_character_catalog.sql), and the listings read from them. A character has a row for each term
/// it is found by (<see cref="CharacterSearch.TermsOf"/>, "" among them) in its owner's listing, and
/// as many again in the public catalog while it is public; none once deleted. Every commit that
/// creates a character, or changes its name, tags, visibility, deletion or chat count, must take its
/// rows along with <see cref="Write"/> (or <see cref="Mutations"/>) in that same commit, and mark the
/// character <see cref="Catalogued"/>. Characters whose rows no commit of this release has written
/// yet (created before the catalog, or by a replica of an earlier release) are marked pending and
/// catalogued in the background (<see cref="CatalogBackfillJob"/>).
/// </summary>
internal static class CatalogEntries
{
    /// <summary>
    /// Clears the character's pending mark (<c>Characters.CatalogPending</c>, see
    /// 0007_catalog_backfill_queue.sql) in <paramref name="characterWrite"/>, the commit's insert or update
    /// of its row: the commit writes all of the rows it should have. An insert without it gets the
    /// column's default (pending), and the backfill would write the same rows once more.
    /// </summary>
    public static SpannerMutation Catalogued(SpannerMutation characterWrite) => characterWrite.Set("CatalogPending", null);

    /// <summary>
    /// Shards of the public catalog's newest-first index: new public characters arrive at this many
    /// points instead of one, and a page reads this many ranges. Fixed: rows are stored under it.
    /// </summary>
    public const int PublicShards = 8;

    /// <summary>The listing key of the public catalog (an owner's listing is keyed by the owner's user id, never empty).</summary>
    private const string PublicListing = "";

    /// <summary>
    /// Buffers in <paramref name="tx"/> what takes the catalog from <paramref name="before"/> to
    /// <paramref name="after"/> (see <see cref="Mutations"/>).
    /// </summary>
    public static void Write(SpannerTransaction tx, Character? before, Character? after)
    {
        foreach (var mutation in Mutations(before, after))
        {
            tx.BufferWrite(mutation);
        }
    }

    /// <summary>
    /// The mutations that take the catalog from <paramref name="before"/> to <paramref name="after"/>:
    /// <paramref name="before"/> is the character as stored before this commit (read in its transaction),
    /// null when the commit creates it; <paramref name="after"/> is what the commit stores, null (or
    /// with a <see cref="Character.DeleteTime"/>) when it deletes it. The rows <paramref name="before"/> has
    /// and <paramref name="after"/> has not are deleted, and every row of <paramref name="after"/> is
    /// written whole (an upsert), changed or not: a character may have no rows stored whatever
    /// <paramref name="before"/> says (created by a replica of the release before the catalog, or not
    /// backfilled yet), and this commit then gives it all of them. A character has at most
    /// 2 × <see cref="CharacterSearch.MaxTerms"/> rows, so one character's commit stays far inside
    /// Spanner's mutation limit. A new character (<see cref="Character.CreateTime"/> unset)
    /// gets the commit's timestamp, as its row in Characters does.
    /// </summary>
    public static IReadOnlyList<SpannerMutation> Mutations(Character? before, Character? after)
    {
        var was = Keys(before);
        var now = Keys(after);
        var mutations = new List<SpannerMutation>();
        var gone = was.Where(key => !now.Contains(key)).Select(key => SpannerKey.Of(key.Listing, key.Term, before!.Id)).ToArray();
        if (gone.Length > 0)
        {
            mutations.Add(SpannerMutation.Delete("CatalogTerms", gone));
        }

        if (after is null)
        {
            return mutations;
        }

        foreach (var (listing, term) in now)
        {
            mutations.Add(SpannerMutation.InsertOrUpdate("CatalogTerms")
                .Set("Listing", listing)
                .Set("Term", term)
                .Set("CharacterId", after.Id)
                .Set("Shard", (long)ShardOf(listing, after.Id))
                .Set("CreateTime", after.CreateTime == default ? SpannerCommitTimestamp.Value : after.CreateTime)
                .Set("ChatCount", after.ChatCount));
        }

        return mutations;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> rows of the listing after <paramref name="after"/>, in its order, each a
    /// bounded read of an index range that stops at the limit: most used first is one range, newest first
    /// in the public catalog one per shard (all in one statement), merged here.
    /// </summary>
    public static async Task<IReadOnlyList<CharacterListCursor>> ReadAsync(
        ISpannerReader reader, string userId, CharacterList list, CharacterListCursor? after, int limit, CancellationToken cancellationToken)
    {
        var listing = list.Listing == CharacterListing.Public ? PublicListing : userId;
        var statement = (list.Order == CharacterOrder.MostUsed
                ? new SpannerStatement(MostUsedSql(after is not null))
                : new SpannerStatement(NewestSql(list.Listing == CharacterListing.Public ? PublicShards : 1, after is not null)))
            .Add("listing", listing)
            .Add("term", list.Term)
            .Add("limit", (long)limit);
        if (after is { } cursor)
        {
            statement.Add("afterId", cursor.CharacterId);
            if (list.Order == CharacterOrder.MostUsed)
            {
                statement.Add("afterCount", cursor.SortKey);
            }
            else
            {
                statement.Add("afterTime", new DateTimeOffset(cursor.SortKey, TimeSpan.Zero));
            }
        }

        var rows = await reader.QueryListAsync(statement, cancellationToken);
        var cursors = rows.Select(row => new CharacterListCursor(
            list.Order == CharacterOrder.MostUsed ? row.Get<long>("ChatCount") : row.Get<DateTimeOffset>("CreateTime").UtcTicks,
            row.Get<string>("CharacterId")));
        return [.. cursors.OrderByDescending(c => c.SortKey).ThenBy(c => c.CharacterId, StringComparer.Ordinal).Take(limit)];
    }

    /// <summary>
    /// Newest first: for each shard the first rows after the cursor, in the index's own order (CreateTime
    /// descending, then CharacterId), so each branch reads one range and stops at the limit.
    /// </summary>
    internal static string NewestSql(int shards, bool afterCursor)
    {
        var cursor = afterCursor ? " AND (CreateTime < @afterTime OR (CreateTime = @afterTime AND CharacterId > @afterId))" : "";
        return string.Join(" UNION ALL ", Enumerable.Range(0, shards).Select(shard =>
            "(SELECT CharacterId, CreateTime FROM CatalogTerms@{FORCE_INDEX=CatalogByNewest} " +
            $"WHERE Listing = @listing AND Term = @term AND Shard = {shard}{cursor} ORDER BY CreateTime DESC, CharacterId LIMIT @limit)"));
    }

    /// <summary>Most used first: one range of the index, in its own order (ChatCount descending, then CharacterId).</summary>
    internal static string MostUsedSql(bool afterCursor) =>
        "SELECT CharacterId, ChatCount FROM CatalogTerms@{FORCE_INDEX=CatalogByMostUsed} WHERE Listing = @listing AND Term = @term" +
        (afterCursor ? " AND (ChatCount < @afterCount OR (ChatCount = @afterCount AND CharacterId > @afterId))" : "") +
        " ORDER BY ChatCount DESC, CharacterId LIMIT @limit";

    /// <summary>The (listing, term) keys of a character's rows: none when it is missing or deleted.</summary>
    private static HashSet<(string Listing, string Term)> Keys(Character? character)
    {
        if (character is null || character.IsDeleted)
        {
            return [];
        }

        var terms = CharacterSearch.TermsOf(character.DisplayName, character.Tags);
        var listings = character.Visibility == CharacterVisibility.Public ? new[] { character.OwnerUserId, PublicListing } : [character.OwnerUserId];
        return [.. listings.SelectMany(listing => terms.Select(term => (listing, term)))];
    }

    private static int ShardOf(string listing, string characterId) => listing == PublicListing ? Ids.Shard(characterId, PublicShards) : 0;
}
