using System.Text.RegularExpressions;
using ChatService.Storage;

namespace ChatService.Tests.Storage;

/// <summary>
/// The catalog's listings read index key ranges, never the table. The emulator answers a query in PLAN
/// or PROFILE mode with a placeholder ("No query plan") and no rows-scanned count, so this is held to the
/// SQL itself against the indexes 0006_character_catalog.sql creates: each query (each branch of the
/// newest-first union) forces an index, fixes every key column ahead of the sort column by equality,
/// orders by the rest of the index key in the index's own direction (its last key column, CharacterId,
/// comes from the table's key), and stops at a limit; so Spanner seeks to one range and reads only the
/// rows it returns.
/// </summary>
public sealed class CatalogQueryShapeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Newest_ReadsTheFirstRowsOfOneRangePerShard(bool afterCursor)
    {
        Assert.Equal(["Listing", "Term", "Shard", "CreateTime DESC"], IndexKey("CatalogByNewest"));
        var branches = CatalogEntries.NewestSql(CatalogEntries.PublicShards, afterCursor).Split(" UNION ALL ");

        Assert.Equal(CatalogEntries.PublicShards, branches.Length);
        for (var shard = 0; shard < branches.Length; shard++)
        {
            var branch = branches[shard];
            Assert.StartsWith("(SELECT CharacterId, CreateTime FROM CatalogTerms@{FORCE_INDEX=CatalogByNewest} WHERE ", branch);
            Assert.Contains($"WHERE Listing = @listing AND Term = @term AND Shard = {shard} ", branch);
            Assert.EndsWith(" ORDER BY CreateTime DESC, CharacterId LIMIT @limit)", branch);
            Assert.Equal(afterCursor, branch.Contains(" AND (CreateTime < @afterTime OR (CreateTime = @afterTime AND CharacterId > @afterId))", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MostUsed_ReadsTheFirstRowsOfOneRange(bool afterCursor)
    {
        Assert.Equal(["Listing", "Term", "ChatCount DESC"], IndexKey("CatalogByMostUsed"));
        var sql = CatalogEntries.MostUsedSql(afterCursor);

        Assert.StartsWith("SELECT CharacterId, ChatCount FROM CatalogTerms@{FORCE_INDEX=CatalogByMostUsed} WHERE Listing = @listing AND Term = @term", sql);
        Assert.EndsWith(" ORDER BY ChatCount DESC, CharacterId LIMIT @limit", sql);
        Assert.Equal(afterCursor, sql.Contains(" AND (ChatCount < @afterCount OR (ChatCount = @afterCount AND CharacterId > @afterId))", StringComparison.Ordinal));
        Assert.DoesNotContain("UNION", sql);
    }

    [Fact]
    public void CatalogTerms_IsKeyedByListingTermAndCharacter_SoTheIndexesEndWithTheCharacterId()
    {
        var table = Statement("CREATE TABLE CatalogTerms");

        Assert.EndsWith("PRIMARY KEY (Listing, Term, CharacterId)", table);
    }

    /// <summary>The key columns of an index of schema version 6, as written.</summary>
    private static string[] IndexKey(string index)
    {
        var statement = Statement($"CREATE INDEX {index} ON CatalogTerms");
        return Regex.Match(statement, @"\((?<key>[^)]*)\)\s*$").Groups["key"].Value.Split(',', StringSplitOptions.TrimEntries);
    }

    private static string Statement(string prefix) =>
        Assert.Single(SchemaScript.LoadAll().Single(s => s.Version == 6).Statements, s => s.StartsWith(prefix, StringComparison.Ordinal));
}
