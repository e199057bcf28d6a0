using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Hostile;
using ChatService.Tests.Spanner;
using Microsoft.Extensions.Caching.Memory;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>The catalog's rows and the chat counts in Spanner: what the hook writes, the folds, and the backfill of older characters.</summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class CharacterCatalogStoreTests(SpannerEmulatorFixture emulator)
{
    private const string Owner = "owner-1";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteCatalogEntries_KeepsEachTermInEachListing_AndWritesOnlyWhatChanged()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        var ada = await store.InsertAsync(Character("Ada Lovelace", CharacterVisibility.Public, "Math"), card: null, Ct);
        var terms = CharacterSearch.TermsOf("Ada Lovelace", ["Math"]);

        Assert.Contains("ada lo", terms);
        Assert.Contains("lovelace", terms);
        Assert.Contains("mat", terms);
        Assert.Equal(2 * terms.Count, await CountRowsAsync(database, ada.Id));
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));

        // Nothing changed: nothing to write. A new tag: only its terms, in both listings.
        Assert.Empty(CatalogEntries.Mutations(ada, ada));
        var tagged = ada with { Tags = ["Math", "Poetry"] };
        Assert.Single(CatalogEntries.Mutations(ada, tagged).Select(m => m.ToString()).Distinct());
        Assert.Equal(2 * 6, CatalogEntries.Mutations(ada, tagged).Count);

        // Private: the public catalog's rows go, in one delete; a count change rewrites every row left.
        var hidden = ada with { Visibility = CharacterVisibility.Private };
        Assert.Equal("Delete CatalogTerms", Assert.Single(CatalogEntries.Mutations(ada, hidden)).ToString());
        await WriteAsync(database, ada, hidden);
        Assert.Equal(terms.Count, await CountRowsAsync(database, ada.Id));
        Assert.Equal(terms.Count, CatalogEntries.Mutations(hidden, hidden with { ChatCount = 3 }).Count);
        await WriteAsync(database, hidden, hidden with { DeleteTime = DateTimeOffset.UtcNow });
        Assert.Equal(0, await CountRowsAsync(database, ada.Id));
    }

    [Fact]
    public async Task ChatCount_IsExactWhileEveryShardIsUnder16_ThenFoldsAboutEveryEighthMore()
    {
        Assert.All(Enumerable.Range(1, 15), n => Assert.True(CharacterChatCounts.IsFoldPoint(n)));
        Assert.Equal([16L, 18, 20, 30, 32, 36, 64, 72, 1024, 1152], new long[] { 16, 17, 18, 20, 30, 31, 32, 33, 36, 64, 65, 72, 1024, 1025, 1152 }.Where(CharacterChatCounts.IsFoldPoint));

        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        var character = await store.InsertAsync(Character("Pat", CharacterVisibility.Public), card: null, Ct);

        // Shard 3 has counted 100 chats, every other shard 10, all folded: 250.
        await database.WriteAsync(
            Enumerable.Range(0, CharacterChatCounts.Shards).Select(shard => SpannerMutation.Insert("CharacterChatCounts")
                .Set("CharacterId", character.Id).Set("Shard", (long)shard).Set("ChatCount", shard == 3 ? 100L : 10L))
                .Append(SpannerMutation.Update("Characters").Set("CharacterId", character.Id).Set("ChatCount", 250L)),
            Ct);
        await WriteAsync(database, character, character with { ChatCount = 250 });

        // 101..103 on shard 3 are counted but not folded; 104 (a multiple of 8 in [64, 128)) folds everything.
        var folded = new List<long>();
        for (var chat = 0; chat < 4; chat++)
        {
            await database.RunInTransactionAsync((tx, ct) => CharacterChatCounts.CountChatAsync(tx, [character.Id], shard: 3, ct), Ct);
            folded.Add((await store.ListAsync(Owner, new CharacterList(CharacterListing.Public, CharacterOrder.MostUsed, "pat"), null, 1, Ct))[0].Cursor.SortKey);
        }

        Assert.Equal([250L, 250, 250, 254], folded);
        // A shard still under 16 folds at once, with what the others counted meanwhile.
        await database.RunInTransactionAsync((tx, ct) => CharacterChatCounts.CountChatAsync(tx, [character.Id], shard: 0, ct), Ct);
        var listed = Assert.Single(await store.ListAsync(Owner, new CharacterList(CharacterListing.Own, CharacterOrder.MostUsed, null), null, 5, Ct));
        Assert.Equal(255, listed.Character!.ChatCount);
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
    }

    [Fact]
    public async Task Backfill_GivesCharactersFromBeforeTheCatalogTheirRows_InEveryListing()
    {
        var scripts = SchemaScript.LoadAll();
        await using var database = await DatabaseAsync([.. scripts.Where(s => s.Version < 6)]);
        var older = Enumerable.Range(0, 45).Select(i => Character($"Older {i}", (CharacterVisibility)(1 + (i % 3)))).ToList();
        await database.WriteAsync(older.Select(c => SpannerMutation.Insert("Characters")
            .Set("CharacterId", c.Id).Set("OwnerUserId", c.OwnerUserId).Set("DisplayName", c.DisplayName).Set("Persona", c.Persona)
            .Set("ModelRoute", c.ModelRoute).Set("Visibility", (long)c.Visibility).Set("CreateTime", SpannerCommitTimestamp.Value)), Ct);
        await using (var admin = SpannerAdminClient.Create(emulator.Options(database.DatabasePath[(database.DatabasePath.LastIndexOf('/') + 1)..])))
        {
            await admin.UpdateDdlAsync(scripts.Single(s => s.Version == 6).Statements, Ct);
        }

        await CatalogBackfill.RunAsync(database, Ct);

        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        var own = await store.ListAsync(Owner, new CharacterList(CharacterListing.Own, CharacterOrder.Newest, "older"), null, 100, Ct);
        var catalog = await store.ListAsync("someone", new CharacterList(CharacterListing.Public, CharacterOrder.MostUsed, null), null, 100, Ct);
        Assert.Equal(45, own.Count);
        Assert.Equal(older.Where(c => c.Visibility == CharacterVisibility.Public).Select(c => c.Id).Order(), catalog.Select(e => e.Cursor.CharacterId).Order());
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
    }

    private static Character Character(string name, CharacterVisibility visibility, params string[] tags) =>
        new(Ids.New(), Owner, name, $"{name} answers in character.", Greeting: null, "default", visibility, default) { Tags = tags };

    private async Task<SpannerDatabaseClient> DatabaseAsync(IReadOnlyList<SchemaScript> scripts)
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(CharacterCatalogStoreTests), [.. scripts.SelectMany(s => s.Statements)]);
        return SpannerDatabaseClient.Create(emulator.Options(databaseId));
    }

    private static Task WriteAsync(SpannerDatabaseClient database, Character before, Character after) =>
        database.RunInTransactionAsync((tx, _) =>
        {
            CatalogEntries.Write(tx, before, after);
            return Task.CompletedTask;
        }, Ct);

    private static async Task<long> CountRowsAsync(SpannerDatabaseClient database, string characterId) =>
        (await database.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId = @id").Add("id", characterId), cancellationToken: Ct))[0].Get<long>(0);
}
