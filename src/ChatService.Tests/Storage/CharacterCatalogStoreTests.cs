using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Hostile;
using ChatService.Tests.Spanner;
using Microsoft.Extensions.Caching.Memory;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>The catalog's rows and the chat counts in Spanner: what the hook writes and the folds (the backfill: <see cref="CatalogBackfillTests"/>).</summary>
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

        // Every write upserts the whole set of what the character is now, so a character whose rows are
        // missing (a replica before the catalog created it) gets them all with its next change.
        Assert.Equal(2 * terms.Count, CatalogEntries.Mutations(ada, ada).Count);
        var tagged = ada with { Tags = ["Math", "Poetry"] };
        Assert.Equal(2 * CharacterSearch.TermsOf("Ada Lovelace", ["Math", "Poetry"]).Count, CatalogEntries.Mutations(ada, tagged).Count);

        // Private: the public catalog's rows go, in one delete, and the owner's rows are written again.
        var hidden = ada with { Visibility = CharacterVisibility.Private };
        Assert.Equal(["Delete CatalogTerms", .. Enumerable.Repeat("InsertOrUpdate CatalogTerms", terms.Count)], CatalogEntries.Mutations(ada, hidden).Select(m => m.ToString()));
        await WriteAsync(database, ada, hidden);
        Assert.Equal(terms.Count, await CountRowsAsync(database, ada.Id));
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

        // 101..103 on shard 3 are counted and not due; 104 (a multiple of 8 in [64, 128)) is, and its fold sums everything.
        var due = new List<int>();
        for (var chat = 0; chat < 4; chat++)
        {
            var (result, _) = await database.RunInTransactionWithCommitTimestampAsync((tx, ct) => CharacterChatCounts.CountChatAsync(tx, [character.Id], shard: 3, ct), Ct);
            due.Add(result.Count);
        }

        Assert.Equal([0, 0, 0, 1], due);
        Assert.Equal(250, await MostUsedCountAsync(store, "pat"));
        Assert.True(await CharacterChatCounts.FoldAsync(new SpannerGateway(database), character.Id, Ct));
        Assert.Equal(254, await MostUsedCountAsync(store, "pat"));

        // A fold that runs late or twice never lowers a count, and writes nothing when there is nothing new.
        Assert.False(await CharacterChatCounts.FoldAsync(new SpannerGateway(database), character.Id, Ct));
        await database.RunInTransactionWithCommitTimestampAsync((tx, ct) => CharacterChatCounts.CountChatAsync(tx, [character.Id], shard: 0, ct), Ct);
        Assert.True(await CharacterChatCounts.FoldAsync(new SpannerGateway(database), character.Id, Ct));
        var listed = Assert.Single(await store.ListAsync(Owner, new CharacterList(CharacterListing.Own, CharacterOrder.MostUsed, null), null, 5, Ct));
        Assert.Equal(255, listed.Character!.ChatCount);
        Assert.Equal(255, listed.Cursor.SortKey);
        Assert.Empty(await CatalogConsistency.CheckAsync(database, Ct));
    }

    [Fact]
    public async Task ChangingACharacterWithoutCatalogRows_GivesItAllOfThem_AndTheOwnListingShowsItMeanwhile()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        // As a replica of the release before the catalog creates a character: its row, no catalog rows.
        var old = Character("Grace Hopper", CharacterVisibility.Public, "Navy");
        await database.WriteAsync([SpannerMutation.Insert("Characters")
            .Set("CharacterId", old.Id).Set("OwnerUserId", old.OwnerUserId).Set("DisplayName", old.DisplayName).Set("Persona", old.Persona)
            .Set("ModelRoute", old.ModelRoute).Set("Visibility", (long)old.Visibility).Set("CreateTime", SpannerCommitTimestamp.Value)], Ct);
        Assert.Equal(0, await CountRowsAsync(database, old.Id));

        // The owner's default listing (own, newest, no query) reads the characters themselves: it shows it already.
        Assert.Equal([old.Id], (await store.ListAsync(Owner, CharacterList.OwnNewest, null, 10, Ct)).Select(e => e.Cursor.CharacterId));

        // A change that moves neither its count nor its creation time still writes every row it should have.
        var stored = Assert.Single(await CharacterStore.ReadAsync(database, [old.Id], Ct));
        await WriteAsync(database, stored, stored with { Tags = ["Navy", "Compilers"] });
        Assert.Equal(2 * CharacterSearch.TermsOf("Grace Hopper", ["Navy", "Compilers"]).Count, await CountRowsAsync(database, old.Id));
        Assert.Equal([old.Id], (await store.ListAsync("someone", new CharacterList(CharacterListing.Public, CharacterOrder.Newest, "grace"), null, 10, Ct)).Select(e => e.Cursor.CharacterId));
    }

    [Fact]
    public async Task OwnNewest_LeavesDeletedCharactersOut_AndPagesByCreateTimeThenId()
    {
        await using var database = await DatabaseAsync(SchemaScript.LoadAll());
        using var memory = new MemoryCache(new MemoryCacheOptions());
        var store = new CharacterStore(new SpannerGateway(database), memory);
        var created = new List<Character>();
        for (var i = 0; i < 5; i++)
        {
            created.Add(await store.InsertAsync(Character($"Own {i}", (CharacterVisibility)(1 + (i % 3))), card: null, Ct));
        }

        await WriteAsync(database, created[2], created[2] with { DeleteTime = DateTimeOffset.UtcNow });
        await database.WriteAsync([SpannerMutation.Update("Characters").Set("CharacterId", created[2].Id).Set("DeleteTime", SpannerCommitTimestamp.Value)], Ct);

        var pages = new List<string>();
        CharacterListCursor? after = null;
        while (true)
        {
            var page = await store.ListAsync(Owner, CharacterList.OwnNewest, after, 2, Ct);
            pages.AddRange(page.Select(e => e.Cursor.CharacterId));
            if (page.Count < 2)
            {
                break;
            }

            after = page[^1].Cursor;
        }

        Assert.Equal(new[] { 4, 3, 1, 0 }.Select(i => created[i].Id), pages);
    }

    private static async Task<long> MostUsedCountAsync(CharacterStore store, string query) =>
        (await store.ListAsync(Owner, new CharacterList(CharacterListing.Public, CharacterOrder.MostUsed, query), null, 1, Ct))[0].Cursor.SortKey;

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
