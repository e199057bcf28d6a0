using ChatService.Api.V1;
using ChatService.Cache;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// What a reply's prompt holds, as the OpenAI-compatible server receives it: the character's whole
/// definition in its order, the user's persona as resolved when the reply is generated, the
/// post-history instructions after the last turn, and never the creator notes.
/// </summary>
public sealed class DefinitionPromptTests(OpenAIBackedFixture fixture) : ApiTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    private const string SystemPrompt = "You are {0}. Write {0}'s next reply in this fictional chat with {1}: stay in character, and never speak for {1}.";

    private static string DefaultSystem(string character, string user) => string.Format(System.Globalization.CultureInfo.InvariantCulture, SystemPrompt, character, user);

    private async Task<Character> CharacterAsync(string user, string name, string persona, Action<CreateCharacterRequest>? more = null)
    {
        var request = new CreateCharacterRequest { DisplayName = name, Persona = persona, ModelRoute = "llm", Visibility = Visibility.Public };
        more?.Invoke(request);
        return await Fixture.Client(user).CreateCharacterAsync(request, cancellationToken: Ct);
    }

    private async Task<Persona> PersonaAsync(string user, string name, string description, bool isDefault = false, params string[] characterIds) =>
        await Fixture.Client(user).CreatePersonaAsync(new CreatePersonaRequest
        {
            Name = name, Description = description, IsDefault = isDefault, CharacterIds = { characterIds },
        }, cancellationToken: Ct);

    /// <summary>Sends <paramref name="text"/> and returns the prompt the server received for its reply.</summary>
    private async Task<List<(string Role, string Content)>> PromptOfAsync(string user, string chatId, string text)
    {
        var before = fixture.Server.Requests.Count;
        var events = await SendAsync(user, chatId, text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(before + 1, fixture.Server.Requests.Count);
        return fixture.Server.Messages(before);
    }

    [Fact]
    public async Task TheOverridePersona_SpeaksToItsCharacter_AndTheDefaultToAnother_WithUserReplaced()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "{{char}} sails with {{USER}}.");
        var ada = await CharacterAsync(user, "Ada", "{{char}} teaches {{user}} algebra.");
        await PersonaAsync(user, "Pat", "{{user}} is a landlubber.", isDefault: true);
        await PersonaAsync(user, "Quinn", "{{User}} is a sailor from Lisbon.", false, ruby.CharacterId);

        var rubyPrompt = await PromptOfAsync(user, (await CreateChatAsync(user, ruby)).ChatId, "Where to?");
        var adaPrompt = await PromptOfAsync(user, (await CreateChatAsync(user, ada)).ChatId, "What is x?");

        Assert.Equal(("system", $"{DefaultSystem("Ruby", "Quinn")}\n\nRuby sails with Quinn.\n\nThe user is Quinn. Quinn is a sailor from Lisbon."), rubyPrompt[0]);
        Assert.Equal(("system", $"{DefaultSystem("Ada", "Pat")}\n\nAda teaches Pat algebra.\n\nThe user is Pat. Pat is a landlubber."), adaPrompt[0]);
        Assert.Equal(("user", "Where to?"), rubyPrompt[^1]);
    }

    [Fact]
    public async Task TheWholeDefinition_IsInItsOrder_PostHistoryInstructionsComeLast_CreatorNotesNever()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "{{char}} is a pirate captain.", r =>
        {
            r.Description = "Captain of the Crimson Gull.";
            r.Personality = "gruff but kind";
            r.Scenario = "{{user}} has just come aboard.";
            r.ExampleDialogues = "<START>\n{{user}}: Where are we going?\n{{char}}: Wherever the wind says.";
            r.SystemPrompt = "{{original}} Keep replies short.";
            r.PostHistoryInstructions = "Reply as {{char}} only; never narrate for {{user}}.";
            r.CreatorNotes = "CREATOR-NOTES-NEVER-IN-A-PROMPT";
            r.Greeting = "Ahoy!";
            r.AlternateGreetings.Add("Who goes there, {{user}}?");
        });
        var chat = await Fixture.Client(user).CreateChatAsync(
            new CreateChatRequest { CharacterIds = { ruby.CharacterId }, GreetingIndex = 1 }, cancellationToken: Ct);
        var first = fixture.Server.Requests.Count;

        await PromptOfAsync(user, chat.ChatId, "Who are you?");
        var prompt = await PromptOfAsync(user, chat.ChatId, "Where are we going?");

        var system = string.Join("\n\n",
            DefaultSystem("Ruby", "User") + " Keep replies short.",
            "Ruby is a pirate captain.",
            "Captain of the Crimson Gull.",
            "Ruby's personality: gruff but kind",
            "Scenario: User has just come aboard.",
            "Example dialogues:\n<START>\nUser: Where are we going?\nRuby: Wherever the wind says.");
        Assert.Equal(
            [
                ("system", system),
                ("assistant", "Who goes there, User?"),
                ("user", "Who are you?"),
                ("assistant", "Ahoy, matey! The treasure is under the palm."),
                ("user", "Where are we going?"),
                ("system", "Reply as Ruby only; never narrate for User."),
            ],
            prompt);
        for (var i = first; i < fixture.Server.Requests.Count; i++)
        {
            Assert.DoesNotContain(fixture.Server.Messages(i), m => m.Content.Contains("CREATOR-NOTES", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task UpdateCharacter_ChangesWhatTheNextRepliesPromptHolds()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "A pirate.", r => r.Scenario = "At sea.");
        var chat = await CreateChatAsync(user, ruby);
        var before = await PromptOfAsync(user, chat.ChatId, "Hello");

        await Fixture.Client(user).UpdateCharacterAsync(new UpdateCharacterRequest
        {
            Character = new Character { CharacterId = ruby.CharacterId, Scenario = "In port, repairing the mast.", PostHistoryInstructions = "Mention the mast." },
            UpdateMask = new FieldMask { Paths = { "scenario", "post_history_instructions" } },
        }, cancellationToken: Ct);
        var after = await PromptOfAsync(user, chat.ChatId, "And now?");

        Assert.EndsWith("Scenario: At sea.", before[0].Content);
        Assert.EndsWith("Scenario: In port, repairing the mast.", after[0].Content);
        Assert.Equal(("system", "Mention the mast."), after[^1]);
        Assert.Equal(("user", "And now?"), after[^2]);
    }

    [Fact]
    public async Task APinnedPersona_WinsOverTheOverride_UntilItIsDeleted()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "{{char}} greets {{user}}.");
        await PersonaAsync(user, "Quinn", "", false, ruby.CharacterId);
        var pinned = await PersonaAsync(user, "Dr. Q", "A ship's doctor.");
        var chat = await Fixture.Client(user).CreateChatAsync(
            new CreateChatRequest { CharacterIds = { ruby.CharacterId }, PersonaId = pinned.PersonaId }, cancellationToken: Ct);

        var whilePinned = await PromptOfAsync(user, chat.ChatId, "Hi");
        await Fixture.Client(user).DeletePersonaAsync(new DeletePersonaRequest { PersonaId = pinned.PersonaId }, cancellationToken: Ct);
        var afterDelete = await PromptOfAsync(user, chat.ChatId, "Hi again");

        Assert.EndsWith("Ruby greets Dr. Q.\n\nThe user is Dr. Q. A ship's doctor.", whilePinned[0].Content);
        // A persona with no description still gives the model the user's name.
        Assert.EndsWith("Ruby greets Quinn.\n\nThe user is Quinn.", afterDelete[0].Content);
    }

    [Fact]
    public async Task WithoutAnyPersona_UserIsUser_AndNothingIsSaidOfTheUser()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "{{char}} greets {{user}}.");

        var prompt = await PromptOfAsync(user, (await CreateChatAsync(user, ruby)).ChatId, "Hi");

        Assert.Equal(("system", $"{DefaultSystem("Ruby", "User")}\n\nRuby greets User."), prompt[0]);
    }

    [Fact]
    public async Task AColdChatsReply_ReadsTheSameDefinitionAndPersona_FromItsSnapshot()
    {
        var user = TestUsers.New();
        var ruby = await CharacterAsync(user, "Ruby", "{{char}} greets {{user}}.", r => r.PostHistoryInstructions = "Be brief.");
        await PersonaAsync(user, "Quinn", "A sailor.", isDefault: true);
        var chat = await CreateChatAsync(user, ruby);
        var warm = await PromptOfAsync(user, chat.ChatId, "Hi");
        await using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(Fixture.Stack.RedisConfiguration))
        {
            await redis.GetDatabase().KeyDeleteAsync(HistoryCache.WindowKey(chat.ChatId));
        }

        // The next reply's window read misses: its context, persona included, comes from the ledger's snapshot.
        var cold = await PromptOfAsync(user, chat.ChatId, "Hi again");

        Assert.Equal(warm[0], cold[0]);
        Assert.EndsWith("The user is Quinn. A sailor.", cold[0].Content);
        Assert.Equal(("system", "Be brief."), cold[^1]);
    }

    [Fact]
    public async Task ADeletedCharacter_KeepsAnsweringItsChats_WithItsLastVersion()
    {
        var owner = TestUsers.New();
        var fan = TestUsers.New();
        var ruby = await CharacterAsync(owner, "Ruby", "A pirate.", r => r.Scenario = "Last voyage.");
        var chat = await CreateChatAsync(fan, ruby);
        await PromptOfAsync(fan, chat.ChatId, "Hello");

        await Fixture.Client(owner).DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = ruby.CharacterId }, cancellationToken: Ct);
        var prompt = await PromptOfAsync(fan, chat.ChatId, "Still there?");

        Assert.EndsWith("A pirate.\n\nScenario: Last voyage.", prompt[0].Content);
    }
}
