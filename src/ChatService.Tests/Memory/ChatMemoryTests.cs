using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Memory;

/// <summary>
/// The memory note: owner-only, bounded, and in the next reply's prompt at its depth as the
/// OpenAI-compatible server receives it (the window cached by the previous exchange is dropped by the update).
/// </summary>
[Collection(SummarySweepCollection.Name)]
public sealed class ChatMemoryTests(MemoryFixture fixture) : ApiTestBase(fixture), IClassFixture<MemoryFixture>
{
    private const string Reply = "Ahoy, matey! The treasure is under the palm.";

    private async Task<Chat> ChatAsync(string user)
    {
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm" }, cancellationToken: Ct);
        return await CreateChatAsync(user, ruby);
    }

    private async Task<List<(string Role, string Content)>> PromptOfAsync(string user, string chatId, string text)
    {
        var before = fixture.Server.Requests.Count;
        var events = await SendAsync(user, chatId, text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        return fixture.Server.Messages(before);
    }

    private Task<ChatMemory> UpdateAsync(string user, string chatId, string note, int? depth = null)
    {
        var request = new UpdateChatMemoryRequest { ChatId = chatId, Note = note };
        if (depth is { } d)
        {
            request.Depth = d;
        }

        return Fixture.Client(user).UpdateChatMemoryAsync(request, cancellationToken: Ct).ResponseAsync;
    }

    [Fact]
    public async Task TheNote_GoesAheadOfTheRecentTurns_ThenAtItsDepth_AsSoonAsItIsUpdated()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);

        // Without a note the prompt is the definition and the turns; this exchange caches the window.
        var plain = await PromptOfAsync(user, chat.ChatId, "one");
        Assert.Equal(["system", "user"], plain.Select(m => m.Role));

        var updated = await UpdateAsync(user, chat.ChatId, "Ruby owes the user ten doubloons.");
        Assert.Equal("Ruby owes the user ten doubloons.", updated.Note);
        Assert.False(updated.HasDepth);
        Assert.Equal(-1, updated.EffectiveDepth);
        Assert.NotNull(updated.UpdateTime);
        var ahead = await PromptOfAsync(user, chat.ChatId, "two");
        Assert.Equal(
            [("system", "Ruby owes the user ten doubloons."), ("user", "one"), ("assistant", Reply), ("user", "two")],
            ahead.Skip(1));

        // The window holds the 4 turns before the reply ("one" fell out); depth 1 is above the newest.
        await UpdateAsync(user, chat.ChatId, "NOTE AT ONE", depth: 1);
        var atOne = await PromptOfAsync(user, chat.ChatId, "three");
        Assert.Equal(
            [("assistant", Reply), ("user", "two"), ("assistant", Reply), ("system", "NOTE AT ONE"), ("user", "three")],
            atOne.Skip(1));

        await UpdateAsync(user, chat.ChatId, "NOTE AT ZERO", depth: 0);
        var atZero = await PromptOfAsync(user, chat.ChatId, "four");
        Assert.Equal(("user", "four"), atZero[^2]);
        Assert.Equal(("system", "NOTE AT ZERO"), atZero[^1]);

        // Deeper than the recent turns: right ahead of them.
        await UpdateAsync(user, chat.ChatId, "NOTE DEEP", depth: 100);
        var deep = await PromptOfAsync(user, chat.ChatId, "five");
        Assert.Equal(("system", "NOTE DEEP"), deep[1]);

        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(("NOTE DEEP", 100, 100), (memory.Note, memory.Depth, memory.EffectiveDepth));

        // An empty note removes it.
        await UpdateAsync(user, chat.ChatId, "");
        var none = await PromptOfAsync(user, chat.ChatId, "six");
        Assert.DoesNotContain(none.Skip(1), m => m.Role == "system" && m.Content.StartsWith("NOTE", StringComparison.Ordinal));
        Assert.Equal("", (await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Note);
    }

    [Fact]
    public async Task TheNote_ComesAfterThePins_AndBeforeThePostHistoryInstructions()
    {
        var user = TestUsers.New();
        var ruby = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ruby", Persona = "A pirate.", ModelRoute = "llm", PostHistoryInstructions = "Stay brief." },
            cancellationToken: Ct);
        var chat = await CreateChatAsync(user, ruby);
        for (var i = 1; i <= 3; i++)
        {
            await PromptOfAsync(user, chat.ChatId, $"m{i}");
        }

        // Turn 1 ("m1") falls out of a 4-turn window; pinned, it goes ahead of the recent turns.
        await Fixture.Client(user).PinTurnAsync(new PinTurnRequest { ChatId = chat.ChatId, Seq = 1 }, cancellationToken: Ct);
        await UpdateAsync(user, chat.ChatId, "THE NOTE");
        var prompt = await PromptOfAsync(user, chat.ChatId, "m4");
        Assert.Equal(("user", "m1"), prompt[1]);
        Assert.Equal(("system", "THE NOTE"), prompt[2]);
        Assert.Equal(("system", "Stay brief."), prompt[^1]);

        await UpdateAsync(user, chat.ChatId, "THE NOTE", depth: 0);
        var atZero = await PromptOfAsync(user, chat.ChatId, "m5");
        Assert.Equal([("user", "m5"), ("system", "THE NOTE"), ("system", "Stay brief.")], atZero[^3..]);
    }

    [Fact]
    public async Task BadNotesAndDepths_AreInvalidArgument_NamingTheField_AndChangeNothing()
    {
        var user = TestUsers.New();
        var chat = await ChatAsync(user);
        await UpdateAsync(user, chat.ChatId, "kept", depth: 2);

        var longNote = await AssertStatusAsync(StatusCode.InvalidArgument, () => UpdateAsync(user, chat.ChatId, new string('x', 2_001)));
        Assert.Equal("note", FieldOf(longNote));
        foreach (var depth in new[] { -2, 101, int.MaxValue })
        {
            var bad = await AssertStatusAsync(StatusCode.InvalidArgument, () => UpdateAsync(user, chat.ChatId, "x", depth));
            Assert.Equal("depth", FieldOf(bad));
        }

        var badId = await AssertStatusAsync(StatusCode.InvalidArgument, () => UpdateAsync(user, "not-an-id", "x"));
        Assert.Equal("chat_id", FieldOf(badId));
        var kept = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(("kept", 2), (kept.Note, kept.Depth));

        // 2,000 characters is the bound, counted as characters (code points), not UTF-16 units. An update
        // replaces the depth too: without one, the chat takes the default again.
        await UpdateAsync(user, chat.ChatId, string.Concat(Enumerable.Repeat("😀", 2_000)));
        var memory = await Fixture.Client(user).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal(4_000, memory.Note.Length);
        Assert.False(memory.HasDepth);
    }

    [Fact]
    public async Task AnotherUsersChat_IsNotFound_ForReadsAndUpdates_AndKeepsItsNote()
    {
        var owner = TestUsers.New();
        var chat = await ChatAsync(owner);
        await UpdateAsync(owner, chat.ChatId, "private");
        var stranger = TestUsers.New();

        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(stranger).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => UpdateAsync(stranger, chat.ChatId, "mine now"));

        var memory = await Fixture.Client(owner).GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal("private", memory.Note);
    }
}
