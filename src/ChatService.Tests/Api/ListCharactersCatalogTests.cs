using ChatService.Api.V1;
using ChatService.Storage;
using ChatService.Tests.Hostile;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using CharacterSearch = ChatService.Chats.CharacterSearch;
using CharacterVisibility = ChatService.Chats.CharacterVisibility;
using ICharacterStore = ChatService.Chats.ICharacterStore;
using Ids = ChatService.Chats.Ids;
using StoredCharacter = ChatService.Chats.Character;

namespace ChatService.Tests.Api;

/// <summary>
/// ListCharacters as a catalog: the caller's own characters or the public ones, newest or most used
/// first, all or those a query finds; against the emulator. Characters with tags, unlisted ones and
/// changes a later UpdateCharacter or DeleteCharacter makes are written through the character store
/// and the catalog's hook (CatalogEntries), as those RPCs write them.
/// </summary>
public sealed class ListCharactersCatalogTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private ICharacterStore Store => Fixture.Service<ICharacterStore>();

    [Fact]
    public async Task EveryListingOrderAndQuery_PagesWithoutRepeatsOrOmissions_AsTheCharactersSay()
    {
        var word = Word();
        var (alice, bob) = (TestUsers.New(), TestUsers.New());
        var alpha = await SeedAsync(alice, $"{word} Alpha", CharacterVisibility.Public, "Heroes");
        var bravo = await SeedAsync(alice, $"{word} Bravo", CharacterVisibility.Private);
        var charlie = await SeedAsync(alice, $"{word.ToUpperInvariant()} Charlie", CharacterVisibility.Unlisted);
        var delta = await SeedAsync(alice, "Delta", CharacterVisibility.Public, $"{word}-tag");
        var echo = await SeedAsync(alice, $"Echo {word}", CharacterVisibility.Public);
        var foxtrot = await SeedAsync(bob, $"{word} Foxtrot", CharacterVisibility.Public);
        var golf = await SeedAsync(bob, $"{word} Golf", CharacterVisibility.Private);
        var hotel = await SeedAsync(bob, "Hotel", CharacterVisibility.Public);
        var india = await SeedAsync(alice, $"{word} India", CharacterVisibility.Public);
        var juliet = await SeedAsync(bob, $"{word} Juliet", CharacterVisibility.Public);
        var kilo = await SeedAsync(alice, $"{word} Kilo", CharacterVisibility.Public);
        await ChangeAsync(india, c => c with { DeleteTime = DateTimeOffset.UtcNow });
        await ChangeAsync(kilo, c => c with { Visibility = CharacterVisibility.Private });
        // Deleted without the hook (as a bug would): its stale rows must still never show it.
        await Fixture.Database.WriteAsync([SpannerMutation.Update("Characters").Set("CharacterId", juliet.Id).Set("DeleteTime", SpannerCommitTimestamp.Value)], Ct);
        await StartChatsAsync(alpha, 3);
        await StartChatsAsync(foxtrot, 2);
        await StartChatsAsync(delta, 1);
        await StartChatsAsync(bravo, 2);
        await FoldedAsync();

        Assert.Equal([alpha.Id, foxtrot.Id, delta.Id, echo.Id], await IdsAsync(bob, CharacterListing.Public, CharacterOrder.MostUsed, word));
        Assert.Equal(new long[] { 3, 2, 1, 0 }, (await ListAllAsync(bob, CharacterListing.Public, CharacterOrder.MostUsed, word, pageSize: 3)).Select(c => c.ChatCount));
        Assert.Equal([foxtrot.Id, echo.Id, delta.Id, alpha.Id], await IdsAsync(bob, CharacterListing.Public, CharacterOrder.Newest, $"  {word.ToUpperInvariant()} "));
        Assert.Equal([kilo.Id, echo.Id, delta.Id, charlie.Id, bravo.Id, alpha.Id], await IdsAsync(alice, CharacterListing.Own, CharacterOrder.Newest, word));
        Assert.Equal([golf.Id, foxtrot.Id], await IdsAsync(bob, CharacterListing.Own, CharacterOrder.Newest, word));
        Assert.Equal([hotel.Id], await IdsAsync(alice, CharacterListing.Public, CharacterOrder.Newest, "hotel"));

        // Every combination, in pages of 1, 2 and 100, equals the listing worked out from the characters themselves.
        var characters = await AllCharactersAsync();
        foreach (var (user, listing) in new[] { (alice, CharacterListing.Own), (bob, CharacterListing.Own), (alice, CharacterListing.Public) })
        {
            foreach (var order in new[] { CharacterOrder.Newest, CharacterOrder.MostUsed })
            {
                foreach (var query in new[] { "", word, word[..3], "Heroes", "nothing-" + word })
                {
                    var expected = Expected(characters, user, listing, order, query);
                    foreach (var pageSize in new[] { 1, 2, 100 })
                    {
                        var listed = await ListAllAsync(user, listing, order, query, pageSize);
                        Assert.True(expected.SequenceEqual(listed.Select(c => c.CharacterId)),
                            $"{listing} {order} '{query}' in pages of {pageSize}: expected {string.Join(", ", expected)}; listed {string.Join(", ", listed.Select(c => c.CharacterId))}");
                    }
                }
            }
        }

        // The catalog is what the characters say, but for the rows of the one deleted without the hook.
        Assert.Contains(juliet.Id, Assert.Single(await CatalogConsistency.CheckAsync(Fixture.Database, Ct)));
    }

    [Theory]
    [InlineData("éow", true, false)]
    [InlineData("EOWYN", true, false)]
    [InlineData("Éowyn Sh", true, false)]
    [InlineData("shield", true, false)]
    [InlineData("maiden", false, false)]
    [InlineData("fic", true, false)]
    [InlineData("science f", true, false)]
    [InlineData("ROH", true, false)]
    [InlineData("love", false, true)]
    [InlineData("ada lo", false, true)]
    [InlineData(" Ada ", false, true)]
    [InlineData("ove", false, false)]
    [InlineData("mat", false, true)]
    [InlineData("o'brien", false, false)]
    [InlineData("!!!", false, false)]
    public async Task Query_FindsPrefixesOfTheNameItsWordsTagsAndTheirWords_IgnoringCaseAndDiacritics(string query, bool eowyn, bool ada)
    {
        var user = TestUsers.New();
        var first = await SeedAsync(user, "Éowyn Shieldmaiden", CharacterVisibility.Public, "Science Fiction", "rohan");
        var second = await SeedAsync(user, "Ada Lovelace", CharacterVisibility.Private, "math");

        var found = await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, query);

        Assert.Equal(new[] { (eowyn, first.Id), (ada, second.Id) }.Where(x => x.Item1).Select(x => x.Item2).Reverse(), found);
    }

    [Fact]
    public async Task Query_MatchesNormalizedForms_FullWidthLigaturesAndPunctuation()
    {
        var user = TestUsers.New();
        var link = await SeedAsync(user, "Ｌｉｎｋ", CharacterVisibility.Private);
        var obrien = await SeedAsync(user, "O'Brien", CharacterVisibility.Private);
        var zoe = await SeedAsync(user, "Zoë ﬁnch", CharacterVisibility.Private);

        Assert.Equal([link.Id], await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, "link"));
        Assert.Equal([obrien.Id], await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, "O’Brien"));
        Assert.Equal([obrien.Id], await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, "brie"));
        Assert.Equal([zoe.Id], await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, "zoe"));
        Assert.Equal([zoe.Id], await IdsAsync(user, CharacterListing.Own, CharacterOrder.Newest, "FIN"));
        Assert.Equal(CharacterSearch.MaxTermLength, CharacterSearch.QueryTerm(new string('a', 40)).Length);
    }

    [Fact]
    public async Task PublicCatalog_FollowsRenamesRetagsVisibilityAndDeletion()
    {
        var word = Word();
        var owner = TestUsers.New();
        var reader = TestUsers.New();
        var character = await SeedAsync(owner, $"{word} Original", CharacterVisibility.Public, "first");

        character = await ChangeAsync(character, c => c with { DisplayName = $"Renamed {word}x", Tags = ["second"] });
        Assert.Equal([character.Id], await IdsAsync(reader, CharacterListing.Public, CharacterOrder.Newest, $"{word}x"));
        Assert.Empty(await IdsAsync(reader, CharacterListing.Public, CharacterOrder.Newest, "original " + word));
        Assert.Empty(await IdsAsync(owner, CharacterListing.Own, CharacterOrder.MostUsed, "first"));
        Assert.Equal([character.Id], await IdsAsync(owner, CharacterListing.Own, CharacterOrder.MostUsed, "second"));

        character = await ChangeAsync(character, c => c with { Visibility = CharacterVisibility.Unlisted });
        Assert.Empty(await IdsAsync(reader, CharacterListing.Public, CharacterOrder.Newest, word));
        Assert.DoesNotContain(character.Id, await IdsAsync(reader, CharacterListing.Public, CharacterOrder.MostUsed, ""));
        Assert.Equal([character.Id], await IdsAsync(owner, CharacterListing.Own, CharacterOrder.Newest, word));

        character = await ChangeAsync(character, c => c with { Visibility = CharacterVisibility.Public });
        Assert.Equal([character.Id], await IdsAsync(reader, CharacterListing.Public, CharacterOrder.MostUsed, word));

        await ChangeAsync(character, c => c with { DeleteTime = DateTimeOffset.UtcNow });
        Assert.Empty(await IdsAsync(reader, CharacterListing.Public, CharacterOrder.Newest, word));
        Assert.Empty(await IdsAsync(owner, CharacterListing.Own, CharacterOrder.Newest, ""));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId = @id", ("id", character.Id)));
    }

    [Fact]
    public async Task MostUsed_CountsEveryChatStarted_AndAnotherUsersPrivateCharacterIsNeverListed()
    {
        var word = Word();
        var (owner, other) = (TestUsers.New(), TestUsers.New());
        var popular = await CreateCharacterAsync(owner, $"{word} Popular", visibility: Visibility.Public);
        var quiet = await CreateCharacterAsync(owner, $"{word} Quiet", visibility: Visibility.Public);
        var secret = await CreateCharacterAsync(other, $"{word} Secret");
        for (var i = 0; i < 4; i++)
        {
            await CreateChatAsync(TestUsers.New(), popular);
        }

        await CreateChatAsync(owner, quiet, popular);
        for (var i = 0; i < 6; i++)
        {
            await CreateChatAsync(other, secret);
        }

        await FoldedAsync();
        var listed = await ListAllAsync(TestUsers.New(), CharacterListing.Public, CharacterOrder.MostUsed, word, pageSize: 1);

        Assert.Equal([(popular.CharacterId, 5L), (quiet.CharacterId, 1L)], listed.Select(c => (c.CharacterId, c.ChatCount)));
        Assert.Equal([popular.CharacterId, quiet.CharacterId], await IdsAsync(owner, CharacterListing.Own, CharacterOrder.MostUsed, ""));
        Assert.Equal([(secret.CharacterId, 6L)], (await ListAllAsync(other, CharacterListing.Own, CharacterOrder.MostUsed, "", 20)).Select(c => (c.CharacterId, c.ChatCount)));
        Assert.Equal(5, await Fixture.CountAsync("SELECT SUM(ChatCount) FROM CharacterChatCounts WHERE CharacterId = @id", ("id", popular.CharacterId)));
    }

    [Fact]
    public async Task PageToken_OfAnotherListingOrderQueryOrUser_IsInvalidArgument()
    {
        var word = Word();
        var (user, other) = (TestUsers.New(), TestUsers.New());
        for (var i = 0; i < 3; i++)
        {
            await CreateCharacterAsync(user, $"{word} {i}", visibility: Visibility.Public);
        }

        var request = new ListCharactersRequest { PageSize = 1, Listing = CharacterListing.Public, Order = CharacterOrder.MostUsed, Query = word };
        var token = (await Fixture.Client(user).ListCharactersAsync(request, cancellationToken: Ct)).NextPageToken;
        Assert.NotEmpty(token);

        (string Caller, ListCharactersRequest Request)[] misuses =
        [
            (user, new ListCharactersRequest(request) { Listing = CharacterListing.Own }),
            (user, new ListCharactersRequest(request) { Listing = CharacterListing.Unspecified }),
            (user, new ListCharactersRequest(request) { Order = CharacterOrder.Newest }),
            (user, new ListCharactersRequest(request) { Query = word + "x" }),
            (user, new ListCharactersRequest(request) { Query = "" }),
            (other, request),
        ];
        foreach (var (caller, misuse) in misuses)
        {
            misuse.PageToken = token;
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(caller).ListCharactersAsync(misuse, cancellationToken: Ct).ResponseAsync);
            Assert.Equal("page_token", FieldOf(ex));
        }

        // The query as the catalog looks it up: other letters of the same word page the same listing.
        var next = await Fixture.Client(user).ListCharactersAsync(new ListCharactersRequest(request) { Query = $" {word.ToUpperInvariant()}", PageToken = token }, cancellationToken: Ct);
        Assert.Single(next.Characters);
    }

    /// <summary>A word no other test's characters have: "zq" and six random letters.</summary>
    [Fact]
    public async Task ConcurrentChatsWithOneNewCharacter_AllSucceed_AndItsCountEndsExact()
    {
        var word = Word();
        var character = await SeedAsync(TestUsers.New(), $"{word} Crowd", CharacterVisibility.Public);

        await Task.WhenAll(Enumerable.Range(0, 24).Select(_ =>
            Fixture.Client(TestUsers.New()).CreateChatAsync(new CreateChatRequest { CharacterIds = { character.Id } }, cancellationToken: Ct).ResponseAsync));
        await FoldedAsync();

        Assert.Equal(24, await Fixture.CountAsync("SELECT SUM(ChatCount) FROM CharacterChatCounts WHERE CharacterId = @id", ("id", character.Id)));
        var listed = Assert.Single(await ListAllAsync(TestUsers.New(), CharacterListing.Public, CharacterOrder.MostUsed, word, pageSize: 5));
        Assert.Equal(24, listed.ChatCount);
        Assert.Equal(24, await Fixture.CountAsync("SELECT ChatCount FROM Characters WHERE CharacterId = @id", ("id", character.Id)));
    }

    [Fact]
    public async Task GroupChatOfCharactersWithTheMostTerms_Succeeds_AndEachIsCounted()
    {
        var word = Word();
        var owner = TestUsers.New();
        // 32 tags of 32 distinct letters: 1,024 terms (the cap), so 2,048 catalog rows per public character;
        // folding all eight in CreateChat's commit would pass Spanner's 80,000-mutation limit.
        var characters = new List<StoredCharacter>();
        for (var i = 0; i < 8; i++)
        {
            var tags = Enumerable.Range(0, 32).Select(_ => new string(Enumerable.Range(0, 32).Select(_ => (char)('a' + Random.Shared.Next(26))).ToArray())).ToArray();
            characters.Add(await SeedAsync(owner, $"{word} Tagged {i}", CharacterVisibility.Public, tags));
        }

        Assert.Equal(2 * CharacterSearch.MaxTerms, await Fixture.CountAsync("SELECT COUNT(*) FROM CatalogTerms WHERE CharacterId = @id", ("id", characters[0].Id)));
        var request = new CreateChatRequest();
        request.CharacterIds.AddRange(characters.Select(c => c.Id));
        await Fixture.Client(owner).CreateChatAsync(request, cancellationToken: Ct);
        await FoldedAsync();

        var listed = await ListAllAsync(owner, CharacterListing.Public, CharacterOrder.MostUsed, word, pageSize: 10);
        Assert.Equal(characters.Select(c => c.Id).Order(), listed.Select(c => c.CharacterId).Order());
        Assert.All(listed, c => Assert.Equal(1, c.ChatCount));
    }

    private Task FoldedAsync() => Fixture.ChatCountsFoldedAsync(Ct);

    private static string Word() => "zq" + new string(Enumerable.Range(0, 6).Select(_ => (char)('a' + Random.Shared.Next(26))).ToArray());

    private Task<StoredCharacter> SeedAsync(string owner, string name, CharacterVisibility visibility, params string[] tags) =>
        Store.InsertAsync(new StoredCharacter(Ids.New(), owner, name, $"{name} answers in character.", null, "default", visibility, default) { Tags = tags },
            card: null, Ct);

    /// <summary>Changes a character as UpdateCharacter and DeleteCharacter do: its row and its catalog rows in one commit.</summary>
    private async Task<StoredCharacter> ChangeAsync(StoredCharacter character, Func<StoredCharacter, StoredCharacter> change)
    {
        StoredCharacter? changed = null;
        await Fixture.Database.RunInTransactionAsync(async (tx, ct) =>
        {
            var before = Assert.Single(await CharacterStore.ReadAsync(tx, [character.Id], ct));
            changed = change(before);
            tx.BufferWrite(CharacterStore.SetDefinition(SpannerMutation.Update("Characters"), changed)
                .Set("CharacterId", changed.Id)
                .Set("DeleteTime", changed.DeleteTime is null ? null : SpannerCommitTimestamp.Value));
            CatalogEntries.Write(tx, before, changed);
        }, Ct);
        return changed!;
    }

    private async Task StartChatsAsync(StoredCharacter character, int chats)
    {
        for (var i = 0; i < chats; i++)
        {
            await Fixture.Client(character.OwnerUserId).CreateChatAsync(new CreateChatRequest { CharacterIds = { character.Id } }, cancellationToken: Ct);
        }
    }

    private async Task<List<string>> IdsAsync(string user, CharacterListing listing, CharacterOrder order, string query) =>
        [.. (await ListAllAsync(user, listing, order, query, pageSize: 2)).Select(c => c.CharacterId)];

    /// <summary>Every page of a listing, following the tokens; fails on a character listed twice.</summary>
    private async Task<List<Character>> ListAllAsync(string user, CharacterListing listing, CharacterOrder order, string query, int pageSize)
    {
        var characters = new List<Character>();
        var token = "";
        do
        {
            var page = await Fixture.Client(user).ListCharactersAsync(
                new ListCharactersRequest { Listing = listing, Order = order, Query = query, PageSize = pageSize, PageToken = token }, cancellationToken: Ct);
            Assert.True(page.Characters.Count <= pageSize);
            characters.AddRange(page.Characters);
            token = page.NextPageToken;
        }
        while (token != "");

        Assert.Equal(characters.Count, characters.Select(c => c.CharacterId).Distinct().Count());
        return characters;
    }

    private async Task<List<StoredCharacter>> AllCharactersAsync() =>
        [.. (await Fixture.Database.QueryListAsync(new SpannerStatement($"SELECT {CharacterStore.CharacterColumns} FROM Characters"), cancellationToken: Ct))
            .Select(CharacterStore.ReadCharacter)];

    /// <summary>The listing as its definition says, from every character in the database: the oracle the pages are held to.</summary>
    private static List<string> Expected(List<StoredCharacter> characters, string user, CharacterListing listing, CharacterOrder order, string query)
    {
        var term = CharacterSearch.Normalize(query.Trim());
        bool Finds(StoredCharacter c) => query.Length == 0 || (term.Length > 0 && c.Tags.Prepend(c.DisplayName).Select(CharacterSearch.Normalize)
            .Any(text => text.StartsWith(term, StringComparison.Ordinal) || text.Split(' ').Any(w => w.StartsWith(term, StringComparison.Ordinal))));
        var listed = characters.Where(c => !c.IsDeleted && Finds(c) && (listing == CharacterListing.Own
            ? c.OwnerUserId == user
            : c.Visibility == CharacterVisibility.Public));
        var ordered = order == CharacterOrder.MostUsed
            ? listed.OrderByDescending(c => c.ChatCount)
            : listed.OrderByDescending(c => c.CreateTime);
        return [.. ordered.ThenBy(c => c.Id, StringComparer.Ordinal).Select(c => c.Id)];
    }
}
