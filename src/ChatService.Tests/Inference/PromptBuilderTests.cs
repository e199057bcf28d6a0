using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Inference;

public sealed class PromptBuilderTests
{
    private const string Persona = "You are Ada, a patient mathematician.";

    private static readonly Dictionary<string, string> Names = new() { ["ada"] = "Ada", ["bob"] = "Bob" };

    private static PromptTurn User(string text) => new(true, null, text);

    private static PromptTurn Said(string characterId, string text) => new(false, characterId, text);

    private static List<(ChatRole Role, string Text)> Shape(IReadOnlyList<ChatMessage> messages) =>
        [.. messages.Select(m => (m.Role, m.Text))];

    [Fact]
    public void OneToOne_PersonaIsSystem_UserIsUser_OwnTurnsAreAssistant()
    {
        var messages = PromptBuilder.Build(Persona, "ada", [User("Hi"), Said("ada", "Hello!"), User("What is 2+2?")], Names, 10_000);

        Assert.Equal(
            [(ChatRole.System, Persona), (ChatRole.User, "Hi"), (ChatRole.Assistant, "Hello!"), (ChatRole.User, "What is 2+2?")],
            Shape(messages));
    }

    [Fact]
    public void GroupChat_OtherCharactersAreUserMessagesPrefixedWithTheirName()
    {
        var messages = PromptBuilder.Build(
            Persona, "ada", [User("Hi both"), Said("bob", "Hey!"), Said("ada", "Hello."), Said("cyd", "Yo.")], Names, 10_000);

        Assert.Equal(
            [(ChatRole.System, Persona), (ChatRole.User, "Hi both"), (ChatRole.User, "Bob: Hey!"), (ChatRole.Assistant, "Hello."), (ChatRole.User, "cyd: Yo.")],
            Shape(messages));
    }

    [Fact]
    public void Budget_DropsOldestTurnsFirst_AndAlwaysKeepsTheSystemMessage()
    {
        PromptTurn[] window = [User("aaaaaaaaaa"), Said("ada", "bbbbbbbbbb"), User("cccccccccc"), Said("bob", "dddddd")];

        // "Bob: dddddd" is 11 characters and "cccccccccc" 10: 21 fit in 25, "bbbbbbbbbb" would not.
        var messages = PromptBuilder.Build(Persona, "ada", window, Names, 25);

        Assert.Equal([(ChatRole.System, Persona), (ChatRole.User, "cccccccccc"), (ChatRole.User, "Bob: dddddd")], Shape(messages));
    }

    [Fact]
    public void Budget_KeepsTheWindowContiguous_EvenIfAnOlderShortTurnWouldFit()
    {
        PromptTurn[] window = [User("hi"), Said("ada", new string('x', 50)), User("newest")];

        var messages = PromptBuilder.Build(Persona, "ada", window, Names, 20);

        Assert.Equal([(ChatRole.System, Persona), (ChatRole.User, "newest")], Shape(messages));
    }

    [Fact]
    public void NewestTurnAloneTooLong_IsCutFromTheFront()
    {
        var messages = PromptBuilder.Build(Persona, "ada", [User("older"), User("0123456789ABCDEF")], Names, 6);

        Assert.Equal([(ChatRole.System, Persona), (ChatRole.User, "ABCDEF")], Shape(messages));
    }

    [Fact]
    public void NoBudget_StillSendsThePersona()
    {
        var messages = PromptBuilder.Build(Persona, "ada", [], Names, 0);

        Assert.Equal([(ChatRole.System, Persona)], Shape(messages));
    }

    [Fact]
    public void EmptyTurns_AreLeftOut()
    {
        var messages = PromptBuilder.Build(Persona, "ada", [User("Hi"), Said("ada", ""), User("Still there?")], Names, 1000);

        Assert.Equal([(ChatRole.System, Persona), (ChatRole.User, "Hi"), (ChatRole.User, "Still there?")], Shape(messages));
    }

    [Fact]
    public void Truncation_NeverSplitsASurrogatePair()
    {
        var messages = PromptBuilder.Build(Persona, "ada", [User("ab😀cd")], Names, 3);

        Assert.Equal("cd", messages[^1].Text);
    }
}
