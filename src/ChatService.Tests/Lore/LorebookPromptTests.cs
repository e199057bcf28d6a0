using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Cards;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Inference;
using Grpc.Core;

namespace ChatService.Tests.Lore;

/// <summary>The OpenAI-compatible test server behind route "llm", with a lore budget of 30 estimated tokens.</summary>
public sealed class LoreFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int LoreBudgetTokens = 100;

    public FakeOpenAIServer Server { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Routes:llm:0"] = "llm",
        ["Dispatch:LoreBudgetTokens"] = LoreBudgetTokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public override async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAIServer.StartAsync(CancellationToken.None);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>
/// Lore in the prompts the OpenAI-compatible server receives: an entry keyed "dragon" with scan depth 2
/// only while "dragon" is in the last two messages, constant entries always, the lowest orders dropped
/// over the lore budget; books of a character, of a chat, and of an imported card.
/// </summary>
public sealed class LorebookPromptTests(LoreFixture fixture) : ApiTestBase(fixture), IClassFixture<LoreFixture>
{
    private static readonly string[] DefaultReply = ["Ahoy", ", matey", "! The ", "treasure is ", "under the palm."];

    private async Task<Character> CharacterAsync(string user, string name) =>
        await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = name, Persona = $"{name} is a sky pirate.", ModelRoute = "llm" }, cancellationToken: Ct);

    private async Task<Lorebook> BookAsync(string user, string? characterId, int scanDepth, int tokenBudget, params LoreEntry[] entries) =>
        await Fixture.Client(user).CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "World", CharacterId = characterId ?? "", ScanDepth = scanDepth, TokenBudget = tokenBudget, Entries = { entries } },
        }, cancellationToken: Ct);

    private async Task<List<(string Role, string Content)>> PromptOfAsync(string user, string chatId, string text)
    {
        var before = fixture.Server.Requests.Count;
        var events = await SendAsync(user, chatId, text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(before + 1, fixture.Server.Requests.Count);
        return fixture.Server.Messages(before);
    }

    private static bool Holds(List<(string Role, string Content)> prompt, string text) => prompt.Any(m => m.Role == "system" && m.Content == text);

    [Fact]
    public async Task ADragonEntryWithScanDepth2_IsThereOnlyWhileDragonIsInTheLastTwoMessages_AConstantOneAlways()
    {
        var user = TestUsers.New();
        var mara = await CharacterAsync(user, "Mara");
        await BookAsync(user, mara.CharacterId, scanDepth: 2, tokenBudget: 0,
            new LoreEntry { Keys = { "dragon" }, Content = "Dragons nest on the northern peaks." },
            new LoreEntry { Constant = true, Content = "{{char}} flies the Kestrel.", Position = LorePosition.AfterDefinition });
        var chat = await CreateChatAsync(user, mara);
        const string Dragon = "Dragons nest on the northern peaks.";
        var seen = new List<bool>();
        try
        {
            // An after-definition entry goes inside the first system message, after the definition.
            var first = await PromptOfAsync(user, chat.ChatId, "Good morning, captain.");
            Assert.Equal("system", first[0].Role);
            Assert.EndsWith("\n\nMara flies the Kestrel.", first[0].Content, StringComparison.Ordinal);
            seen.Add(Holds(first, Dragon));

            fixture.Server.ReplyChunks = ["A dragon circles the mast."];
            seen.Add(Holds(await PromptOfAsync(user, chat.ChatId, "Is that a DRAGON?"), Dragon));
            fixture.Server.ReplyChunks = DefaultReply;

            // "dragon" is now in the reply, the second newest message.
            var third = await PromptOfAsync(user, chat.ChatId, "What do we do?");
            seen.Add(Holds(third, Dragon));

            // Three messages back: out of the scan.
            var fourth = await PromptOfAsync(user, chat.ChatId, "Steady as she goes.");
            seen.Add(Holds(fourth, Dragon));
            Assert.EndsWith("Mara flies the Kestrel.", fourth[0].Content, StringComparison.Ordinal);

            // "dragonfly" is not the word.
            seen.Add(Holds(await PromptOfAsync(user, chat.ChatId, "A dragonfly landed."), Dragon));
        }
        finally
        {
            fixture.Server.ReplyChunks = DefaultReply;
        }

        Assert.Equal([false, true, true, false, false], seen);
    }

    [Fact]
    public async Task OverTheLoreBudget_TheLowestOrdersGoFirst_AndKeptEntriesGoInAscendingOrder()
    {
        var user = TestUsers.New();
        var mara = await CharacterAsync(user, "Mara");
        // About 40 tokens each (o200k_base: " sail" is one): two fit the prompt's lore budget of 100, three do not.
        LoreEntry Sized(string tag, int order) => new() { Constant = true, Content = tag + string.Concat(Enumerable.Repeat(" sail", 39)), Order = order };
        await BookAsync(user, mara.CharacterId, 2, 0, Sized("HIGH", 100), Sized("LOW", 1), Sized("MID", 50));
        var chat = await CreateChatAsync(user, mara);

        var prompt = await PromptOfAsync(user, chat.ChatId, "Hello");

        // The entries before the history share one system message, a line each, in ascending order.
        var lore = Assert.Single(prompt, m => m.Role == "system" && m.Content.EndsWith(" sail", StringComparison.Ordinal)).Content
            .Split('\n').Select(line => line[..line.IndexOf(' ', StringComparison.Ordinal)]).ToList();
        Assert.Equal(["MID", "HIGH"], lore);
        Assert.Equal(("user", "Hello"), prompt[^1]);
    }

    [Fact]
    public async Task ABooksOwnBudget_DropsItsLowestOrders_AtDepthEntriesGoAmongTheTurns()
    {
        var user = TestUsers.New();
        var mara = await CharacterAsync(user, "Mara");
        LoreEntry Sized(string tag, int order) => new()
        {
            Constant = true, Content = tag + new string('.', 20 - tag.Length), Order = order, Position = LorePosition.AtDepth, Depth = 0,
        };
        await BookAsync(user, mara.CharacterId, 2, 10, Sized("B", 2), Sized("A", 1), Sized("C", 3));
        var chat = await CreateChatAsync(user, mara);

        var prompt = await PromptOfAsync(user, chat.ChatId, "Hello");

        // 5 tokens each, 10 for the book: A (the lowest order) goes; the others follow the newest turn.
        Assert.Equal([("user", "Hello"), ("system", "B..................."), ("system", "C...................")], prompt[^3..]);
    }

    [Fact]
    public async Task AChatsBook_EntersItsPrompts_UntilDetached_AndRegexKeysMatch()
    {
        var user = TestUsers.New();
        var mara = await CharacterAsync(user, "Mara");
        var chat = await CreateChatAsync(user, mara);
        var book = await BookAsync(user, null, 2, 0, new LoreEntry { Keys = { "/stor(m|ms)\\b/i" }, Content = "Storms come from the west." });
        var client = Fixture.Client(user);

        var attached = await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        Assert.Equal([book.LorebookId], attached.LorebookIds);
        Assert.True(Holds(await PromptOfAsync(user, chat.ChatId, "A STORM is coming"), "Storms come from the west."));

        await client.DetachLorebookAsync(new DetachLorebookRequest { ChatId = chat.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        Assert.False(Holds(await PromptOfAsync(user, chat.ChatId, "Another storm"), "Storms come from the west."));
    }

    [Fact]
    public async Task UpdatingABook_ChangesTheNextPrompt()
    {
        var user = TestUsers.New();
        var mara = await CharacterAsync(user, "Mara");
        var book = await BookAsync(user, mara.CharacterId, 2, 0, new LoreEntry { Constant = true, Content = "Version one." });
        var chat = await CreateChatAsync(user, mara);
        Assert.True(Holds(await PromptOfAsync(user, chat.ChatId, "Hi"), "Version one."));

        book.Entries[0].Content = "Version two.";
        await Fixture.Client(user).UpdateLorebookAsync(new UpdateLorebookRequest { Lorebook = book }, cancellationToken: Ct);

        var prompt = await PromptOfAsync(user, chat.ChatId, "Hi again");
        Assert.True(Holds(prompt, "Version two."));
        Assert.False(Holds(prompt, "Version one."));
    }

    [Fact]
    public async Task AnImportedCardsBook_EntersItsCharactersPrompts_AndTheExportIsTheCardAsImported()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var character = await client.ImportCharacterCardAsync(new ImportCharacterCardRequest { Json = CardFixtures.V2, ModelRoute = "llm" }, cancellationToken: Ct);
        var books = (await client.ListLorebooksAsync(new ListLorebooksRequest(), cancellationToken: Ct)).Lorebooks;
        var book = await client.GetLorebookAsync(new GetLorebookRequest { LorebookId = Assert.Single(books).LorebookId }, cancellationToken: Ct);
        Assert.Equal(("Kestrel lore", character.CharacterId, 2), (book.Name, book.CharacterId, book.Entries.Count));
        var chat = await CreateChatAsync(user, character);

        var prompt = await PromptOfAsync(user, chat.ChatId, "How old is the Kestrel?");

        // A before-definition entry: inside the first system message, ahead of the definition.
        Assert.Equal("system", prompt[0].Role);
        Assert.Contains("The Kestrel is a three-envelope cargo airship, forty years old and patched everywhere.\n\n", prompt[0].Content, StringComparison.Ordinal);
        Assert.DoesNotContain(prompt, m => m.Content.StartsWith("Jory is", StringComparison.Ordinal));
        var exported = await client.ExportCharacterCardAsync(new ExportCharacterCardRequest { CharacterId = character.CharacterId }, cancellationToken: Ct);
        CardJson.AssertSame(CardFixtures.V2, exported.Json);
    }

    [Fact]
    public async Task AnotherUsersChatOrBook_IsNotFound()
    {
        var owner = TestUsers.New();
        var other = TestUsers.New();
        var mara = await CharacterAsync(owner, "Mara");
        var chat = await CreateChatAsync(owner, mara);
        var book = await BookAsync(owner, null, 2, 0, new LoreEntry { Keys = { "x" }, Content = "x" });
        var theirs = await BookAsync(other, null, 2, 0, new LoreEntry { Keys = { "x" }, Content = "x" });

        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(other).AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = theirs.LorebookId }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(owner).AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = theirs.LorebookId }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(other).GetLorebookAsync(new GetLorebookRequest { LorebookId = book.LorebookId }, cancellationToken: Ct));
        await AssertStatusAsync(StatusCode.NotFound, async () => await Fixture.Client(other).CreateLorebookAsync(
            new CreateLorebookRequest { Lorebook = new Lorebook { Name = "Mine", CharacterId = mara.CharacterId } }, cancellationToken: Ct));
    }
}
