using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;

namespace ChatService.Tests.Api;

/// <summary>
/// Renaming and archiving chats (UpdateChat), ListChats by archive state, and SearchChats over titles and shown
/// messages, through the API on the real stack; what each refuses writes nothing.
/// </summary>
public sealed class ChatHousekeepingTests(ChatHousekeepingTests.SearchFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatHousekeepingTests.SearchFixture>
{
    /// <summary>Searches examine 3 chats a page, so paging over the chats examined is tested with a few chats.</summary>
    public sealed class SearchFixture(LocalStack stack) : ChatServiceFixture(stack)
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
        {
            ["Chat:SearchChatsPerPage"] = "3",
        };
    }

    private static UpdateChatRequest Update(string chatId, Action<Chat> set, params string[] paths)
    {
        var chat = new Chat { ChatId = chatId };
        set(chat);
        return new UpdateChatRequest { Chat = chat, UpdateMask = new FieldMask { Paths = { paths } } };
    }

    [Fact]
    public async Task UpdateChat_Title_RenamesTheChatEverywhereItIsShown()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var client = Fixture.Client(user);

        var renamed = await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = "Prime numbers, part 2", "title"), cancellationToken: Ct);

        Assert.Equal("Prime numbers, part 2", renamed.Title);
        Assert.Equal(SpeakerStrategy.Rotation, renamed.SpeakerStrategy);
        Assert.Equal("Prime numbers, part 2", (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Title);
        Assert.Equal("Prime numbers, part 2", Assert.Single((await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats).Title);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("line\nbreak")]
    [InlineData("tab\there")]
    [InlineData("\u200D\u200C")]
    [InlineData("invoice\u202Egpj.exe")]
    [InlineData("left\u2066isolated\u2069")]
    [InlineData("mark\u200Fhere")]
    [InlineData("zero\u200Bwidth")]
    [InlineData("soft\u00ADhyphen")]
    [InlineData("\uFEFFbom")]
    [InlineData("para\u2029graph")]
    public async Task UpdateChat_BadTitle_IsRefusedNamingTheFieldAndChangesNothing(string title)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await Fixture.Client(user).UpdateChatAsync(Update(chat.ChatId, c => c.Title = title, "title", "archived"), cancellationToken: Ct));

        Assert.Equal("chat.title", FieldOf(ex));
        var stored = await Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal((chat.Title, false), (stored.Title, stored.Archived));
    }

    [Theory]
    [InlineData("   ")]
    [InlineData("\u3000")]
    [InlineData("\u200D \u200C")]
    [InlineData("\u3164")]
    [InlineData("\u115F\u1160")]
    [InlineData("\uFFA0 \u2800")]
    public async Task NewChatTitles_ThatShowNothing_AreRefusedByCreateForkAndImport_AsUpdateChatRefusesThem(string title)
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user, "Ada");
        var chat = await CreateChatAsync(user, character);
        var client = Fixture.Client(user);
        const string file = "{\"user_name\":\"Sam\",\"character_name\":\"Ada\"}\n{\"name\":\"Sam\",\"is_user\":true,\"mes\":\"Hi.\"}\n";
        ImportChatRequest Import(string requestId, string importTitle) => new()
        {
            RequestId = requestId, Format = ChatExportFormat.SillytavernJsonl, Data = Google.Protobuf.ByteString.CopyFromUtf8(file),
            CharacterIds = { character.CharacterId }, Title = importTitle,
        };

        var update = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = title, "title"), cancellationToken: Ct));
        var create = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId }, Title = title }, cancellationToken: Ct));
        var fork = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.ForkChatAsync(new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, RequestId = "blank-fork", Title = title }, cancellationToken: Ct));
        var import = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.ImportChatAsync(Import("blank-import", title), cancellationToken: Ct));

        Assert.Equal(["chat.title", "title", "title", "title"], new[] { update, create, fork, import }.Select(FieldOf));
        Assert.All(new[] { create, fork, import }, e => Assert.Contains("show", e.Status.Detail, StringComparison.Ordinal));
        Assert.Equal([chat.ChatId], (await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats.Select(c => c.ChatId));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM ChatImports WHERE UserId = @u", ("u", user)));

        // Empty stays "no title": each RPC's default (the cast's names, the source's title, the file's character's name).
        Assert.Equal("Ada", (await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct)).Title);
        Assert.Equal(chat.Title, (await client.ForkChatAsync(new ForkChatRequest { ChatId = chat.ChatId, AtSeq = 1, RequestId = "fork" }, cancellationToken: Ct)).Title);
        Assert.Equal("Ada (imported)", (await client.ImportChatAsync(Import("import", ""), cancellationToken: Ct)).Chat.Title);
    }

    [Fact]
    public async Task UpdateChat_TitleOverTheLimit_IsRefused_AndTitleIsNotChangedByAnEmptyMask()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var client = Fixture.Client(user);

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = new string('t', 201), "title"), cancellationToken: Ct));
        Assert.Equal("chat.title", FieldOf(ex));
        Assert.Equal(new string('t', 200), (await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = new string('t', 200), "title"), cancellationToken: Ct)).Title);

        // An empty mask means the speaker settings, as before titles could change: the title sent is ignored.
        var updated = await client.UpdateChatAsync(Update(chat.ChatId, c => { c.Title = "ignored"; c.Archived = true; }), cancellationToken: Ct);
        Assert.Equal((new string('t', 200), false), (updated.Title, updated.Archived));
    }

    [Fact]
    public async Task UpdateChat_Title_CountsCodePointsAsTheOtherTextLimitsDo_AndKeepsTheJoinersRealTextNeeds()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var client = Fixture.Client(user);

        // 200 emoji are 400 UTF-16 units and 200 characters: a title; one more is over the limit.
        var emoji = string.Concat(Enumerable.Repeat("\U0001F600", 200));
        Assert.Equal(emoji, (await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = emoji, "title"), cancellationToken: Ct)).Title);
        var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = emoji + "\U0001F600", "title"), cancellationToken: Ct));
        Assert.Equal("chat.title", FieldOf(ex));
        Assert.Contains("201 characters", ex.Status.Detail, StringComparison.Ordinal);

        // A family emoji (joined by U+200D) and Persian with a non-joiner (U+200C) are real titles.
        const string joined = "Family \U0001F468\u200D\U0001F469\u200D\U0001F467 \u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645";
        Assert.Equal(joined, (await client.UpdateChatAsync(Update(chat.ChatId, c => c.Title = joined, "title"), cancellationToken: Ct)).Title);

        // CreateChat holds titles to the same rule, naming its own field.
        var created = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.CreateChatAsync(
            new CreateChatRequest { CharacterIds = { chat.CharacterIds }, Title = "evil\u202Etxt" }, cancellationToken: Ct));
        Assert.Equal("title", FieldOf(created));
        Assert.Equal(joined, (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Title);
    }

    [Fact]
    public async Task Archive_LeavesTheActiveList_ShowsInTheArchivedOne_AndComesBack()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var first = await CreateChatAsync(user, character);
        var second = await CreateChatAsync(user, character);
        var client = Fixture.Client(user);

        var archived = await client.UpdateChatAsync(Update(first.ChatId, c => c.Archived = true, "archived"), cancellationToken: Ct);
        Assert.True(archived.Archived);
        Assert.NotNull(archived.ArchiveTime);
        // Archiving again changes nothing, its time included.
        Assert.Equal(archived.ArchiveTime, (await client.UpdateChatAsync(Update(first.ChatId, c => c.Archived = true, "archived"), cancellationToken: Ct)).ArchiveTime);
        Assert.Equal(archived.ArchiveTime, (await client.GetChatAsync(new GetChatRequest { ChatId = first.ChatId }, cancellationToken: Ct)).ArchiveTime);

        Assert.Equal([second.ChatId], await ListAsync(client, ChatArchiveFilter.Unspecified));
        Assert.Equal([second.ChatId], await ListAsync(client, ChatArchiveFilter.Active));
        Assert.Equal([first.ChatId], await ListAsync(client, ChatArchiveFilter.Archived));
        Assert.Equal([second.ChatId, first.ChatId], await ListAsync(client, ChatArchiveFilter.All));
        var listed = Assert.Single((await client.ListChatsAsync(new ListChatsRequest { ArchiveFilter = ChatArchiveFilter.Archived }, cancellationToken: Ct)).Chats);
        Assert.Equal((true, archived.ArchiveTime), (listed.Archived, listed.ArchiveTime));

        // An archived chat works as any other; a send does not unarchive it.
        await SendAsync(user, first.ChatId, "still here?");
        Assert.Equal([first.ChatId, second.ChatId], await ListAsync(client, ChatArchiveFilter.All));
        Assert.Equal([first.ChatId], await ListAsync(client, ChatArchiveFilter.Archived));

        var back = await client.UpdateChatAsync(Update(first.ChatId, c => c.Archived = false, "archived"), cancellationToken: Ct);
        Assert.Equal((false, null), (back.Archived, back.ArchiveTime));
        Assert.Equal([first.ChatId, second.ChatId], await ListAsync(client, ChatArchiveFilter.Active));
        Assert.Empty(await ListAsync(client, ChatArchiveFilter.Archived));
    }

    [Fact]
    public async Task ListChats_PagesEachFilter_AndATokenOnlyPagesItsOwnFilter()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chats = new List<Chat>();
        for (var i = 0; i < 7; i++)
        {
            chats.Add(await CreateChatAsync(user, character));
        }

        var client = Fixture.Client(user);
        foreach (var chat in chats.Where((_, i) => i % 2 == 0))
        {
            await client.UpdateChatAsync(Update(chat.ChatId, c => c.Archived = true, "archived"), cancellationToken: Ct);
        }

        var newestFirst = chats.Select(c => c.ChatId).Reverse().ToList();
        Assert.Equal(newestFirst.Where((_, i) => i % 2 == 0).ToList(), await ListAsync(client, ChatArchiveFilter.Archived, pageSize: 2));
        Assert.Equal(newestFirst.Where((_, i) => i % 2 == 1).ToList(), await ListAsync(client, ChatArchiveFilter.Active, pageSize: 2));
        Assert.Equal(newestFirst, await ListAsync(client, ChatArchiveFilter.All, pageSize: 3));

        var page = await client.ListChatsAsync(new ListChatsRequest { PageSize = 1, ArchiveFilter = ChatArchiveFilter.Archived }, cancellationToken: Ct);
        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListChatsAsync(
            new ListChatsRequest { PageSize = 1, PageToken = page.NextPageToken, ArchiveFilter = ChatArchiveFilter.All }, cancellationToken: Ct));
        Assert.Equal("page_token", FieldOf(ex));
        ex = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.ListChatsAsync(
            new ListChatsRequest { ArchiveFilter = (ChatArchiveFilter)7 }, cancellationToken: Ct));
        Assert.Equal("archive_filter", FieldOf(ex));
    }

    [Fact]
    public async Task SearchChats_FindsTitlesAndShownMessages_OfTheCallerOnly()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var client = Fixture.Client(user);
        var titled = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId }, Title = "Walrus facts" }, cancellationToken: Ct);
        var messaged = await CreateChatAsync(user, character);
        await SendAsync(user, messaged.ChatId, "Tell me about the WALRUS, please");
        var replied = await CreateChatAsync(user, character);
        await SendAsync(user, replied.ChatId, "Anything");
        await client.EditTurnAsync(new EditTurnRequest { ChatId = replied.ChatId, Seq = 3, Text = "A walrus sleeps on ice.", RequestId = "e1" }, cancellationToken: Ct);
        var unrelated = await CreateChatAsync(user, character);
        await SendAsync(user, unrelated.ChatId, "Only penguins here");
        var theirs = await CreateChatAsync(other, await CreateCharacterAsync(other));
        await SendAsync(other, theirs.ChatId, "walrus walrus");
        await Fixture.Client(other).UpdateChatAsync(Update(theirs.ChatId, c => c.Title = "Walrus", "title"), cancellationToken: Ct);

        var results = await SearchAllAsync(client, "walrus");

        Assert.Equal([replied.ChatId, messaged.ChatId, titled.ChatId], results.Select(r => r.Chat.ChatId));
        Assert.Equal([false, false, true], results.Select(r => r.TitleMatched));
        var reply = Assert.Single(results[0].Matches);
        Assert.Equal((3L, AuthorRole.Character, "A walrus sleeps on ice."), (reply.Seq, reply.Role, reply.Snippet));
        // The simulated backend's reply quotes the message it answers, so both match, newest first.
        Assert.Equal([(3L, AuthorRole.Character), (2L, AuthorRole.User)], results[1].Matches.Select(m => (m.Seq, m.Role)));
        Assert.Contains("WALRUS", results[1].Matches[0].Snippet, StringComparison.Ordinal);
        Assert.Equal("Tell me about the WALRUS, please", results[1].Matches[1].Snippet);
        Assert.Empty(results[2].Matches);
        // Every word must be there, in any order and case.
        Assert.Equal([replied.ChatId], (await SearchAllAsync(client, "ICE, walrus!")).Select(r => r.Chat.ChatId));
        Assert.Empty(await SearchAllAsync(client, "walrus penguins"));
    }

    [Fact]
    public async Task SearchChats_LeavesOutHiddenTurnsAndRepliesNoHistoryShows()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, character);
        await SendAsync(user, chat.ChatId, "Say hello");
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 3, Text = "Narwhal greetings.", RequestId = "e1" }, cancellationToken: Ct);
        await SendAsync(user, chat.ChatId, "Unicorns of the sea");
        // Every word in one title or one message: these two are in two turns.
        Assert.Empty(await SearchAllAsync(client, "narwhal unicorns"));

        Assert.Equal([3L], Assert.Single(await SearchAllAsync(client, "narwhal")).Matches.Select(m => m.Seq));
        // Turn 4 and its reply (the simulated backend quotes the message), newest first.
        Assert.Equal([5L, 4L], Assert.Single(await SearchAllAsync(client, "unicorns")).Matches.Select(m => m.Seq));

        // A regeneration makes a new candidate the one shown: the edited one no longer matches.
        using (var call = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = 3, RequestId = "g1" }, cancellationToken: Ct))
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(Ct))
            {
            }
        }

        Assert.Empty(await SearchAllAsync(client, "narwhal"));

        // Deleted turns are hidden: they no longer match, and match again once restored.
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 5 } }, cancellationToken: Ct);
        Assert.Equal([4L], Assert.Single(await SearchAllAsync(client, "unicorns")).Matches.Select(m => m.Seq));
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 4 } }, cancellationToken: Ct);
        Assert.Empty(await SearchAllAsync(client, "unicorns"));
        await client.RestoreTurnsAsync(new RestoreTurnsRequest { ChatId = chat.ChatId, Seqs = { 4, 5 } }, cancellationToken: Ct);
        Assert.Equal([5L, 4L], Assert.Single(await SearchAllAsync(client, "unicorns")).Matches.Select(m => m.Seq));
    }

    [Fact]
    public async Task SearchChats_PagesOverTheChatsExamined_AndByPageSize()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var client = Fixture.Client(user);
        var found = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId }, Title = i % 3 == 0 ? $"Otter {i}" : $"Chat {i}" },
                cancellationToken: Ct);
            if (i % 3 == 0)
            {
                found.Insert(0, chat.ChatId);
            }
        }

        // Three chats examined a page (the fixture's setting): pages 1..3 examine 3, 3 and 2 chats.
        var first = await client.SearchChatsAsync(new SearchChatsRequest { Query = "otter" }, cancellationToken: Ct);
        Assert.Equal([found[0]], first.Results.Select(r => r.Chat.ChatId));
        Assert.NotEmpty(first.NextPageToken);
        Assert.Equal(found, (await SearchAllAsync(client, "otter")).Select(r => r.Chat.ChatId));
        Assert.Equal(found, (await SearchAllAsync(client, "otter", pageSize: 1)).Select(r => r.Chat.ChatId));

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await client.SearchChatsAsync(
            new SearchChatsRequest { Query = "chat", PageToken = first.NextPageToken }, cancellationToken: Ct));
        Assert.Equal("page_token", FieldOf(ex));
        ex = await AssertStatusAsync(StatusCode.InvalidArgument, async () => await Fixture.Client(TestUsers.New()).SearchChatsAsync(
            new SearchChatsRequest { Query = "otter", PageToken = first.NextPageToken }, cancellationToken: Ct));
        Assert.Equal("page_token", FieldOf(ex));
    }

    [Theory]
    [InlineData("", "query")]
    [InlineData(" -- \"()\" * ", "query")]
    [InlineData("one two three four five six seven eight nine", "query")]
    public async Task SearchChats_BadQuery_IsRefusedNamingTheField(string query, string field)
    {
        var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await Fixture.Client(TestUsers.New()).SearchChatsAsync(new SearchChatsRequest { Query = query }, cancellationToken: Ct));
        Assert.Equal(field, FieldOf(ex));
    }

    [Fact]
    public async Task SearchChats_LongQueryOrPageSize_IsRefused_AndSearchSyntaxIsOnlyWords()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.SearchChatsAsync(new SearchChatsRequest { Query = new string('a', 201) }, cancellationToken: Ct));
        Assert.Equal("query", FieldOf(ex));
        ex = await AssertStatusAsync(StatusCode.InvalidArgument,
            async () => await client.SearchChatsAsync(new SearchChatsRequest { Query = "a", PageSize = 51 }, cancellationToken: Ct));
        Assert.Equal("page_size", FieldOf(ex));

        // Operators of Spanner's search syntax are separators here: never INTERNAL, never a different meaning.
        var character = await CreateCharacterAsync(user);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId }, Title = "cats OR dogs" }, cancellationToken: Ct);
        Assert.Equal([chat.ChatId], (await SearchAllAsync(client, "\"cats\" -OR (dogs*)")).Select(r => r.Chat.ChatId));
        Assert.Empty(await SearchAllAsync(client, "cats OR birds"));
    }

    private static async Task<List<string>> ListAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, ChatArchiveFilter filter, int pageSize = 100)
    {
        var ids = new List<string>();
        var token = "";
        do
        {
            var page = await client.ListChatsAsync(new ListChatsRequest { PageSize = pageSize, PageToken = token, ArchiveFilter = filter }, cancellationToken: Ct);
            ids.AddRange(page.Chats.Select(c => c.ChatId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return ids;
    }

    private static async Task<List<ChatSearchResult>> SearchAllAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string query, int pageSize = 0)
    {
        var results = new List<ChatSearchResult>();
        var token = "";
        do
        {
            var page = await client.SearchChatsAsync(new SearchChatsRequest { Query = query, PageSize = pageSize, PageToken = token }, cancellationToken: Ct);
            results.AddRange(page.Results);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return results;
    }

    /// <summary>
    /// The search's one word definition: the patterns Spanner runs (REGEXP_CONTAINS, RE2) see a word's edges where
    /// ChatSearch.Words cuts a query, for characters of every kind, including those the two once disagreed on
    /// (other numbers such as '²' and '½', enclosing marks), so a query word is found exactly where it stands whole.
    /// </summary>
    [Fact]
    public async Task SearchWords_AndTheStoragePatterns_AgreeOnWhatAWordCharacterIs()
    {
        string[] samples = ["a", "Z", "é", "ß", "ж", "中", "ǅ", "ʰ", "7", "٣", "²", "½", "Ⅻ", "\u0301", "\u0903", "\u20DD", " ", "-", "_", ".", "'", "\u00A0", "😀", "\u200D"];

        // .NET reads the class as the rune test does, for every code point of the first plane.
        var wordClass = new System.Text.RegularExpressions.Regex($"^[{ChatService.Chats.ChatSearch.WordClass}]$");
        for (var cp = 0; cp <= 0xFFFF; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var rune = new System.Text.Rune(cp);
            Assert.True(ChatService.Chats.ChatSearch.IsWordRune(rune) == wordClass.IsMatch(rune.ToString()), $"U+{cp:X4}");
        }

        // Spanner: "cat" followed by each sample is the word "cat" exactly when Words cuts the text into "cat" and more.
        foreach (var sample in samples)
        {
            var text = "cat" + sample + "x";
            var wordsSplit = ChatService.Chats.ChatSearch.Words(text).Contains("cat");
            var rows = await Fixture.Database.QueryListAsync(
                new global::Spanner.Client.SpannerStatement("SELECT REGEXP_CONTAINS(@text, @pattern) AS Found")
                    .Add("text", text).Add("pattern", ChatService.Chats.ChatSearch.WordPattern("cat")), cancellationToken: Ct);
            Assert.True(wordsSplit == rows[0].Get<bool>("Found"), $"'{sample}' (U+{char.ConvertToUtf32(sample, 0):X4}): Words {(wordsSplit ? "splits" : "joins")}, Spanner disagrees");
        }
    }
}
