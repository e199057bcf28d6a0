using ChatService.Api.V1;
using ChatService.Storage;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;
using CharacterList = ChatService.Chats.CharacterList;
using CharacterListCursor = ChatService.Chats.CharacterListCursor;
using PageToken = ChatService.Chats.PageToken;

namespace ChatService.Tests.Api;

/// <summary>A service whose catalog backfill looks for characters without catalog rows every second.</summary>
public sealed class CatalogBackfillFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Chat:CatalogBackfillInterval"] = "00:00:01",
    };
}

/// <summary>ListCharacters: the caller's own characters, newest first, in pages, against the emulator.</summary>
public sealed class ListCharactersTests(CatalogBackfillFixture fixture) : ApiTestBase(fixture), IClassFixture<CatalogBackfillFixture>
{
    [Fact]
    public async Task ListCharacters_PagesNewestFirst_WithoutRepeatsOrOmissions_AndNeverAnotherUsersCharacters()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var created = new List<Character>();
        var theirs = new List<Character>();
        for (var i = 0; i < 7; i++)
        {
            created.Add(await CreateCharacterAsync(user, $"Mine {i}", visibility: i % 2 == 0 ? Visibility.Private : Visibility.Public));
            theirs.Add(await CreateCharacterAsync(other, $"Theirs {i}", visibility: i % 2 == 0 ? Visibility.Public : Visibility.Private));
        }

        var listed = await ListAllAsync(user, pageSize: 3);

        Assert.Equal([3, 3, 1], listed.Pages);
        Assert.Equal(Enumerable.Reverse(created), listed.Characters);
        Assert.Equal(Enumerable.Reverse(theirs), (await ListAllAsync(other, pageSize: 0)).Characters);
        Assert.Empty((await ListAllAsync(TestUsers.New(), pageSize: 0)).Characters);

        // A new character is listed first at once.
        var newest = await CreateCharacterAsync(user, "Newest");
        var first = await Fixture.Client(user).ListCharactersAsync(new ListCharactersRequest { PageSize = 1 }, cancellationToken: Ct);
        Assert.Equal(newest, Assert.Single(first.Characters));
        Assert.NotEmpty(first.NextPageToken);
    }

    [Fact]
    public async Task ListCharacters_CharactersCreatedInOneCommit_ArePagedByIdAcrossPageBoundaries()
    {
        var user = TestUsers.New();
        var older = await CreateCharacterAsync(user, "Older");
        // Five characters with the same creation time (one commit), which pages of 2 must split; each with
        // its catalog rows, as every writer of characters writes them.
        var tied = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString()).ToList();
        await Fixture.Database.WriteAsync(tied.SelectMany(id => (IEnumerable<SpannerMutation>)[
            SpannerMutation.Insert("Characters")
                .Set("CharacterId", id)
                .Set("OwnerUserId", user)
                .Set("DisplayName", "Tied")
                .Set("Persona", "Written straight to Spanner.")
                .Set("ModelRoute", "default")
                .Set("Visibility", 1L)
                .Set("CreateTime", SpannerCommitTimestamp.Value),
            .. CatalogEntries.Mutations(before: null, after: new(id, user, "Tied", "", null, "default", global::ChatService.Chats.CharacterVisibility.Private, default)),
        ]).ToList(), Ct);
        var newer = await CreateCharacterAsync(user, "Newer");

        var listed = await ListAllAsync(user, pageSize: 2);

        Assert.Equal([newer.CharacterId, .. tied.Order(StringComparer.Ordinal), older.CharacterId], listed.Characters.Select(c => c.CharacterId));
        Assert.Equal([2, 2, 2, 1], listed.Pages);
        Assert.Single(listed.Characters.Select(c => c.CreateTime).Where(t => t != newer.CreateTime && t != older.CreateTime).Distinct());
    }

    [Fact]
    public async Task ListCharacters_BadPageSizeOrPageToken_IsInvalidArgumentNamingTheField()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        for (var i = 0; i < 2; i++)
        {
            await CreateCharacterAsync(user, $"Mine {i}");
            await CreateCharacterAsync(other, $"Theirs {i}");
        }

        var own = (await Fixture.Client(user).ListCharactersAsync(new ListCharactersRequest { PageSize = 1 }, cancellationToken: Ct)).NextPageToken;
        var theirs = (await Fixture.Client(other).ListCharactersAsync(new ListCharactersRequest { PageSize = 1 }, cancellationToken: Ct)).NextPageToken;
        Assert.NotEmpty(own);
        Assert.NotEmpty(theirs);

        foreach (var size in new[] { -1, 101, int.MinValue, int.MaxValue })
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => ListAsync(user, new ListCharactersRequest { PageSize = size }));
            Assert.Equal("page_size", FieldOf(ex));
        }

        string[] tokens =
        [
            theirs,
            PageToken.ForChatList(user, DateTimeOffset.UtcNow, Guid.NewGuid().ToString()),
            PageToken.ForHistory(Guid.NewGuid().ToString(), 5),
            PageToken.ForCharacterList(other, CharacterList.OwnNewest, new CharacterListCursor(DateTimeOffset.UtcNow.UtcTicks, Guid.NewGuid().ToString())),
            own[..(own.Length / 2)],
            own + "!",
            "!!!",
            new string('A', 300),
        ];
        foreach (var token in tokens)
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => ListAsync(user, new ListCharactersRequest { PageToken = token }));
            Assert.Equal("page_token", FieldOf(ex));
        }

        // The caller's own token still pages; one forged with a time past every character lists them all.
        Assert.Single((await ListAsync(user, new ListCharactersRequest { PageToken = own })).Characters);
        var forged = PageToken.ForCharacterList(user, CharacterList.OwnNewest, new CharacterListCursor(DateTimeOffset.MaxValue.UtcTicks, Guid.NewGuid().ToString()));
        Assert.Equal(2, (await ListAsync(user, new ListCharactersRequest { PageToken = forged })).Characters.Count);
    }

    [Fact]
    public async Task ListCharacters_UnknownListingOrOrder_OrBadQuery_IsInvalidArgumentNamingTheField()
    {
        var user = TestUsers.New();
        var mine = await CreateCharacterAsync(user, "Ada");
        (ListCharactersRequest Request, string Field)[] bad =
        [
            (new() { Listing = (CharacterListing)3 }, "listing"),
            (new() { Listing = (CharacterListing)(-1), Query = "ada" }, "listing"),
            (new() { Order = (CharacterOrder)3 }, "order"),
            (new() { Order = (CharacterOrder)int.MaxValue, Listing = CharacterListing.Public }, "order"),
            (new() { Query = new string('a', 33) }, "query"),
            (new() { Query = string.Concat(Enumerable.Repeat("😀", 33)) }, "query"),
            (new() { Query = "   " }, "query"),
            (new() { Query = " \t\r\n\u3000" }, "query"),
            (new() { Query = "ad\0a" }, "query"),
            (new() { Query = "ada\u0007" }, "query"),
            (new() { Query = "a\nda" }, "query"),
        ];
        foreach (var (request, field) in bad)
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => ListAsync(user, request));
            Assert.Equal(field, FieldOf(ex));
        }

        // At the limits: 32 characters once trimmed (an emoji is one), or nothing a name could have.
        Assert.Empty((await ListAsync(user, new ListCharactersRequest { Query = "  " + new string('a', 32) + "  " })).Characters);
        Assert.Empty((await ListAsync(user, new ListCharactersRequest { Query = string.Concat(Enumerable.Repeat("😀", 32)) })).Characters);
        Assert.Empty((await ListAsync(user, new ListCharactersRequest { Query = "!?", Listing = CharacterListing.Public })).Characters);
        Assert.Equal(mine, Assert.Single((await ListAsync(user, new ListCharactersRequest { Query = " a ", Order = CharacterOrder.MostUsed })).Characters));
    }

    [Fact]
    public async Task ACharacterAnEarlierReleaseCreated_ReachesTheCatalogAndSearch_WhileTheServiceRuns()
    {
        // During a rolling update a replica of the release before the catalog inserts a character with its
        // columns only: no catalog rows, and the pending mark by the column's default.
        var owner = TestUsers.New();
        var id = Guid.NewGuid().ToString();
        var word = "Zq" + Guid.NewGuid().ToString("N")[..8];
        await Fixture.Database.WriteAsync([SpannerMutation.Insert("Characters")
            .Set("CharacterId", id)
            .Set("OwnerUserId", owner)
            .Set("DisplayName", $"{word} Rollout")
            .Set("Persona", "Written as an earlier release writes characters.")
            .Set("ModelRoute", "default")
            .Set("Visibility", (long)global::ChatService.Chats.CharacterVisibility.Public)
            .Set("CreateTime", SpannerCommitTimestamp.Value)], Ct);

        // The service's background backfill gives it its rows without a restart: other users find it by name
        // in the public catalog, and its owner by the same search in their own listing.
        var search = new ListCharactersRequest { Listing = CharacterListing.Public, Order = CharacterOrder.MostUsed, Query = word.ToLowerInvariant() };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        ListCharactersResponse found;
        while ((found = await ListAsync(TestUsers.New(), search)).Characters.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the backfill did not catalog the character within 60 s");
            await Task.Delay(200, Ct);
        }

        Assert.Equal(id, Assert.Single(found.Characters).CharacterId);
        Assert.Equal(id, Assert.Single((await ListAsync(owner, new ListCharactersRequest { Listing = CharacterListing.Own, Query = word })).Characters).CharacterId);
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Characters WHERE CharacterId = @id AND CatalogPending = TRUE", ("id", id)));
    }

    private async Task<ListCharactersResponse> ListAsync(string userId, ListCharactersRequest request) =>
        await Fixture.Client(userId).ListCharactersAsync(request, cancellationToken: Ct);

    /// <summary>Every page of the user's characters, following the tokens: what each page held, and the characters in order.</summary>
    private async Task<(List<int> Pages, List<Character> Characters)> ListAllAsync(string userId, int pageSize)
    {
        var pages = new List<int>();
        var characters = new List<Character>();
        var token = "";
        do
        {
            var page = await ListAsync(userId, new ListCharactersRequest { PageSize = pageSize, PageToken = token });
            pages.Add(page.Characters.Count);
            characters.AddRange(page.Characters);
            token = page.NextPageToken;
        }
        while (token != "");

        return (pages, characters);
    }
}
