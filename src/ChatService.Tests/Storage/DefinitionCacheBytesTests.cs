using ChatService.Chats;
using ChatService.Storage;
using ChatService.Tests.Hostile;
using ChatService.Tests.Spanner;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Tests.Storage;

/// <summary>
/// The replica's cache of definitions is bounded by bytes (Cache:DefinitionsMemoryBytes): each entry counts an
/// estimate of what it holds, so large definitions fill it long before a count would, and are let go.
/// </summary>
[Collection(SpannerEmulatorCollection.Name)]
public sealed class DefinitionCacheBytesTests(SpannerEmulatorFixture emulator)
{
    private const string Owner = "owner-1";

    /// <summary>A definition at Chat:MaxDefinitionChars, in its two longest sections.</summary>
    private const int LargeChars = 32_000;

    private const long Limit = 2L * 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LargeCharactersPastTheLimit_AreLetGo_WhileAFewSmallOnesAllStay()
    {
        await using var database = await DatabaseAsync();
        var gateway = new SpannerGateway(database);
        using var memory = new MemoryCache(new MemoryCacheOptions { SizeLimit = Limit, TrackStatistics = true });
        var store = new CharacterStore(gateway, memory);

        // 30 characters of 32,000 chars: ≈ 64 KB of text each, ≈ 2 MB for the texts alone, as many again
        // for their prompts' prepared copies; 30 entries would be nothing to a bound that counts them.
        var large = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            large.Add((await store.InsertAsync(Large($"Large {i}"), card: null, Ct)).Id);
        }

        foreach (var id in large)
        {
            Assert.Single(await store.GetManyAsync([id], Ct));
        }

        // An entry that would pass the limit is not added, and the cache compacts in the background: the held
        // set only shrinks meanwhile, so wait until it is settled, then look.
        var held = await SettledAsync(memory, large);
        Assert.InRange(held.Count, 1, large.Count - 1);
        var size = memory.GetCurrentStatistics()!.CurrentEstimatedSize!.Value;
        Assert.InRange(size, held.Count * TextBytes(Large("x")), Limit);

        // The ones let go are read again when asked for, and served right.
        var again = await store.GetManyAsync(large, Ct);
        Assert.Equal(large.Order(), again.Select(c => c.Id).Order());
        Assert.All(again, c => Assert.Equal(LargeChars / 2, c.Description.Length));

        // A few small characters all stay in a cache of the same bytes.
        using var small = new MemoryCache(new MemoryCacheOptions { SizeLimit = Limit, TrackStatistics = true });
        var smallStore = new CharacterStore(gateway, small);
        var few = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            few.Add((await smallStore.InsertAsync(Small($"Small {i}"), card: null, Ct)).Id);
        }

        Assert.Equal(5, (await smallStore.GetManyAsync(few, Ct)).Count);
        Assert.Equal(few.Count, (await SettledAsync(small, few)).Count);
        Assert.Equal(5, small.GetCurrentStatistics()!.CurrentEntryCount);
    }

    [Fact]
    public async Task ALargeCharactersEntry_CountsAtLeastItsTextBytes_AndALargeBooks_ItsContent()
    {
        await using var database = await DatabaseAsync();
        var gateway = new SpannerGateway(database);
        using var memory = new MemoryCache(new MemoryCacheOptions { SizeLimit = 64L * 1024 * 1024, TrackStatistics = true });
        var characters = new CharacterStore(gateway, memory);
        var books = new LorebookStore(gateway, memory);

        var character = await characters.InsertAsync(Large("Large"), card: null, Ct);
        Assert.Single(await characters.GetManyAsync([character.Id], Ct));
        var characterSize = memory.GetCurrentStatistics()!.CurrentEstimatedSize!.Value;

        // The text itself (2 bytes a char), and the prompt's prepared copy joins the sections once more.
        Assert.True(characterSize >= TextBytes(character), $"entry {characterSize} B, text {TextBytes(character)} B");
        Assert.True(characterSize >= 2 * TextBytes(character), $"entry {characterSize} B, text and its prepared copy {2 * TextBytes(character)} B");

        var entries = Enumerable.Range(0, 25).Select(i => new LoreEntry($"e{i}") { Keys = [$"key{i}"], Content = new string('l', LoreLimits.MaxContentChars) }).ToList();
        var book = await books.CreateAsync(new Lorebook(Ids.New(), Owner, "A large book") { Entries = entries }, Ct);
        Assert.Single(await books.CurrentAsync([(book.Id, book.Version)], Ct));
        var bookSize = memory.GetCurrentStatistics()!.CurrentEstimatedSize!.Value - characterSize;
        Assert.True(bookSize >= 2L * entries.Sum(e => e.Content.Length), $"book entry {bookSize} B");
    }

    [Fact]
    public void AGroupChatsKeptDefinitions_CountOnlyTheSpeakersPromptCopy_SoTheyGrowWithTheCastNotItsSquare()
    {
        var cast = Enumerable.Range(0, 8).Select(i => Large($"Member {i}")).ToDictionary(c => c.Id);
        var speaker = cast.Keys.First();
        var size = DefinitionBytes.Of(new ReplyDefinitions(cast, Persona: null), speaker, [.. cast.Keys], null, []);

        // Every member's texts in full, and one prompt copy (at least another copy of a member's texts): the
        // speaker's. Counting each member's copy would add seven more, each at least a member's texts.
        Assert.True(size >= cast.Values.Sum(TextBytes) + TextBytes(cast[speaker]), $"{size}");
        var everyCopy = cast.Values.Sum(DefinitionBytes.Of);
        Assert.True(size < everyCopy - (7 * TextBytes(cast[speaker])), $"{size} of {everyCopy}");
    }

    [Fact]
    public void TheLimit_IsCacheDefinitionsMemoryBytes_256MiBUnlessSet_AndOutOfRangeIsRefused()
    {
        Assert.Equal(256L * 1024 * 1024, SizeLimit(null));
        Assert.Equal(8L * 1024 * 1024, SizeLimit("8388608"));
        Assert.Throws<OptionsValidationException>(() => SizeLimit("0"));
        Assert.Throws<OptionsValidationException>(() => SizeLimit("-1"));
        Assert.Throws<OptionsValidationException>(() => SizeLimit((128L * 1024 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static long? SizeLimit(string? bytes)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        if (bytes is not null)
        {
            builder.Configuration.AddInMemoryCollection([new($"{DefinitionCacheOptions.Section}:{nameof(DefinitionCacheOptions.DefinitionsMemoryBytes)}", bytes)]);
        }

        builder.AddChatStorage();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<IOptions<MemoryCacheOptions>>().Value.SizeLimit;
    }

    /// <summary>The ids still held, once the cache's background compaction (if any) has let go of what it will.</summary>
    private static async Task<List<string>> SettledAsync(MemoryCache memory, IReadOnlyList<string> ids)
    {
        List<string> Held() => [.. ids.Where(id => memory.TryGetValue(id, out Character? _))];
        var held = Held();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        for (var quiet = 0; quiet < 5 && DateTime.UtcNow < deadline;)
        {
            await Task.Delay(100, Ct);
            var now = Held();
            quiet = now.Count == held.Count ? quiet + 1 : 0;
            held = now;
        }

        return held;
    }

    /// <summary>What a character's texts take as UTF-16, without any overhead.</summary>
    private static long TextBytes(Character c) => 2L * (c.Id.Length + c.OwnerUserId.Length + c.DisplayName.Length + c.Persona.Length
        + c.ModelRoute.Length + c.Description.Length + c.ExampleDialogues.Length + c.Personality.Length + c.Scenario.Length);

    private static Character Large(string name) =>
        new(Ids.New(), Owner, name, "", Greeting: null, "default", CharacterVisibility.Private, default)
        {
            Description = new string('d', LargeChars / 2),
            ExampleDialogues = new string('x', LargeChars / 2),
        };

    private static Character Small(string name) =>
        new(Ids.New(), Owner, name, $"{name} answers briefly.", Greeting: null, "default", CharacterVisibility.Private, default);

    private async Task<SpannerDatabaseClient> DatabaseAsync()
    {
        var databaseId = await emulator.CreateDatabaseAsync(nameof(DefinitionCacheBytesTests), [.. SchemaScript.LoadAll().SelectMany(s => s.Statements)]);
        return SpannerDatabaseClient.Create(emulator.Options(databaseId));
    }
}
