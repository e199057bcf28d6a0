using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Cards;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Tests.Lore;

/// <summary>The lorebook RPCs on the emulator: create, read, list, update (masks, versions), delete (detaching), and the refusals, each naming its field.</summary>
public sealed class LorebookApiTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private static Lorebook Book(string name, params LoreEntry[] entries) => new() { Name = name, Entries = { entries } };

    private static LoreEntry Keyed(string key, string content) => new() { Keys = { key }, Content = content };

    [Fact]
    public async Task ABook_IsCreatedReadListedUpdatedAndDeleted_ByItsOwner()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);

        var created = await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = Book("Zeta", Keyed("dragon", "Dragons."), Keyed("/storms?/i", "Storms.")) }, cancellationToken: Ct);
        await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = Book("Alpha", new LoreEntry { Constant = true, Content = "x" }) }, cancellationToken: Ct);

        Assert.Equal((1L, 2, 2), (created.Version, created.ScanDepth, created.Entries.Count));
        Assert.Equal(["1", "2"], created.Entries.Select(e => e.EntryId));
        Assert.Equal(created, await client.GetLorebookAsync(new GetLorebookRequest { LorebookId = created.LorebookId }, cancellationToken: Ct));
        var listed = (await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks;
        Assert.Equal(["Alpha", "Zeta"], listed.Select(b => b.Name));
        // A listing carries each book without its entries (GetLorebook has them), the rest as GetLorebook says.
        Assert.All(listed, b => Assert.Empty(b.Entries));
        var zeta = created.Clone();
        zeta.Entries.Clear();
        Assert.Equal(zeta, listed[1]);

        var renamed = await client.UpdateLorebookAsync(new UpdateLorebookRequest
        {
            Lorebook = new Lorebook { LorebookId = created.LorebookId, Name = "Zeta 2", Version = 1 },
            UpdateMask = new FieldMask { Paths = { "name" } },
        }, cancellationToken: Ct);
        Assert.Equal(("Zeta 2", 2L, 2), (renamed.Name, renamed.Version, renamed.Entries.Count));
        await AssertStatusAsync(StatusCode.Aborted, async () => await client.UpdateLorebookAsync(new UpdateLorebookRequest
        {
            Lorebook = new Lorebook { LorebookId = created.LorebookId, Name = "Zeta 3", Version = 1 },
            UpdateMask = new FieldMask { Paths = { "name" } },
        }, cancellationToken: Ct));

        await client.DeleteLorebookAsync(new DeleteLorebookRequest { LorebookId = created.LorebookId }, cancellationToken: Ct);
        await AssertStatusAsync(StatusCode.NotFound, async () => await client.GetLorebookAsync(new GetLorebookRequest { LorebookId = created.LorebookId }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, async () => await client.DeleteLorebookAsync(new DeleteLorebookRequest { LorebookId = created.LorebookId }, cancellationToken: Ct));
    }

    [Fact]
    public async Task ListLorebooks_Pages_ByNameThenId_WithTokensBoundToTheUserAndTheChat()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        // Seven books, two of them with one name (then ordered by id), one with a long non-ASCII name that
        // sorts second (after "Alpha"), so the first page of two ends with it and its token carries it; four
        // attached to the chat.
        var longName = "Av" + new string('龍', 126);
        var names = new[] { "Delta", "Alpha", "Twin", "Twin", "Bravo", longName, "Echo" };
        var books = new List<Lorebook>();
        foreach (var name in names)
        {
            books.Add(await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = Book(name, Keyed("k", "c")) }, cancellationToken: Ct));
        }

        foreach (var book in books.Take(4))
        {
            await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        }

        static IEnumerable<string> Order(IEnumerable<Lorebook> list) =>
            list.OrderBy(b => b.Name, StringComparer.Ordinal).ThenBy(b => b.LorebookId, StringComparer.Ordinal).Select(b => b.LorebookId);

        async Task<(List<string> Ids, int Pages)> AllPagesAsync(string chatId, int pageSize)
        {
            var ids = new List<string>();
            var pages = 0;
            var token = "";
            do
            {
                var page = await client.ListLorebooksAsync(new ListLorebooksRequest { ChatId = chatId, PageSize = pageSize, PageToken = token }, cancellationToken: Ct);
                Assert.InRange(page.Lorebooks.Count, 1, pageSize);
                ids.AddRange(page.Lorebooks.Select(b => b.LorebookId));
                token = page.NextPageToken;
                pages++;
            }
            while (token.Length > 0 && pages < 20);

            return (ids, pages);
        }

        // Pages of two hold every book once, in the listing's order (Spanner orders strings by their UTF-8 bytes,
        // as ordinal comparison of these names does); page_size 0 is every book in one page, as before paging.
        var all = await AllPagesAsync("", 2);
        Assert.Equal(Order(books), all.Ids);
        Assert.Equal(4, all.Pages);
        Assert.Equal(books[5].LorebookId, all.Ids[1]);
        var single = await AllPagesAsync("", 1);
        Assert.Equal(Order(books), single.Ids);
        Assert.Equal(7, single.Pages);
        var whole = await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct);
        Assert.Equal(Order(books), whole.Lorebooks.Select(b => b.LorebookId));
        Assert.Empty(whole.NextPageToken);
        var attached = await AllPagesAsync(chat.ChatId, 3);
        Assert.Equal(Order(books.Take(4)), attached.Ids);
        Assert.Equal(2, attached.Pages);

        // A token pages only the listing and the user it came from; sizes out of range are refused.
        var first = await client.ListLorebooksAsync(new ListLorebooksRequest { PageSize = 2 }, cancellationToken: Ct);
        Assert.NotEmpty(first.NextPageToken);
        await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListLorebooksAsync(
            new ListLorebooksRequest { ChatId = chat.ChatId, PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.InvalidArgument, async () => await Fixture.Client(TestUsers.New()).ListLorebooksAsync(
            new ListLorebooksRequest { PageSize = 2, PageToken = first.NextPageToken }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListLorebooksAsync(
            new ListLorebooksRequest { PageSize = 2, PageToken = "not-a-token" }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListLorebooksAsync(
            new ListLorebooksRequest { PageSize = 101 }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListLorebooksAsync(
            new ListLorebooksRequest { PageSize = -1 }, cancellationToken: Ct));
    }

    [Fact]
    public async Task DeletingABook_DetachesItFromItsChats()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var book = await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = Book("B", Keyed("k", "c")) }, cancellationToken: Ct);
        await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        Assert.Single((await client.ListLorebooksAsync(new ListLorebooksRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Lorebooks);

        await client.DeleteLorebookAsync(new DeleteLorebookRequest { LorebookId = book.LorebookId }, cancellationToken: Ct);

        Assert.Empty((await client.ListLorebooksAsync(new ListLorebooksRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Lorebooks);
        var detached = await client.DetachLorebookAsync(new DetachLorebookRequest { ChatId = chat.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        Assert.Empty(detached.LorebookIds);
    }

    [Fact]
    public async Task ACharacterHasOneBook()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await CreateCharacterAsync(user);
        var first = Book("First", Keyed("k", "c"));
        first.CharacterId = character.CharacterId;
        await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = first }, cancellationToken: Ct);

        var second = Book("Second", Keyed("k", "c"));
        second.CharacterId = character.CharacterId;
        await AssertStatusAsync(StatusCode.FailedPrecondition, async () => await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = second }, cancellationToken: Ct));
        Assert.Single((await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks);
    }

    [Fact]
    public async Task ACardsBook_CountsTowardTheBooksAUserMayHave()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        await Fixture.Database.RunInTransactionAsync((tx, _) =>
        {
            // The user has one book fewer than the most: a card with a book still fits.
            for (var i = 0; i < global::ChatService.Chats.LoreLimits.MaxBooksPerUser - 1; i++)
            {
                tx.BufferWrite(global::ChatService.Storage.LorebookRows.Insert(new global::ChatService.Chats.Lorebook(Guid.NewGuid().ToString(), user, $"Book {i:D3}")));
            }

            return Task.CompletedTask;
        }, Ct);

        var imported = await client.ImportCharacterCardAsync(new ImportCharacterCardRequest { Json = CardFixtures.V2 }, cancellationToken: Ct);
        Assert.Equal(global::ChatService.Chats.LoreLimits.MaxBooksPerUser, (await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks.Count);

        // Now at the most: the next card with a book is refused whole (no character, no book), as CreateLorebook is.
        var booksBefore = (await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks.Select(b => b.LorebookId).Order().ToList();
        var before = await Fixture.SnapshotAsync();
        await AssertStatusAsync(StatusCode.FailedPrecondition, async () => await client.ImportCharacterCardAsync(new ImportCharacterCardRequest { Json = CardFixtures.V2 }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.FailedPrecondition, async () => await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = Book("One more", Keyed("k", "c")) }, cancellationToken: Ct));
        Assert.Equal(before, await Fixture.SnapshotAsync());
        // The snapshot does not count lorebooks: the user's books are still exactly the ones there were.
        var after = (await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks;
        Assert.Equal(global::ChatService.Chats.LoreLimits.MaxBooksPerUser, after.Count);
        Assert.Equal(booksBefore, after.Select(b => b.LorebookId).Order());
        Assert.NotEmpty(imported.CharacterId);
    }

    [Theory]
    [InlineData("lorebook.entries[0].keys[0]")]
    [InlineData("lorebook.entries[1].entry_id")]
    [InlineData("lorebook.name")]
    [InlineData("lorebook.entries[0].content")]
    public async Task ARefusedBook_NamesItsField_AndIsNotStored(string field)
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var book = Book("Book", Keyed("dragon", "c"), Keyed("wyrm", "c"));
        switch (field)
        {
            case "lorebook.entries[0].keys[0]": book.Entries[0].Keys[0] = "/(unclosed/"; break;
            case "lorebook.entries[1].entry_id": book.Entries[0].EntryId = "same"; book.Entries[1].EntryId = "same"; break;
            case "lorebook.name": book.Name = " "; break;
            default: book.Entries[0].Content = new string('c', 8001); break;
        }

        var error = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.CreateLorebookAsync(new CreateLorebookRequest { Lorebook = book }, cancellationToken: Ct));

        Assert.Equal(field, FieldOf(error));
        Assert.Empty((await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks);
    }
}
