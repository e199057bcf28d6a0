using ChatService.Inference;
using Microsoft.Extensions.AI;

namespace ChatService.Tests.Inference;

/// <summary>A character's whole definition in a prompt: order, placeholders, the final instructions, and what gives way to the budget.</summary>
public sealed class DefinitionPromptBuilderTests
{
    private static readonly Dictionary<string, string> Names = new() { ["ruby"] = "Ruby" };

    private static readonly PromptTurn[] Window = [new(true, null, "Hi", 1)];

    private static IReadOnlyList<ChatMessage> Build(CharacterPrompt definition, int definitionMaxChars = 100_000) =>
        PromptBuilder.Build(definition, "ruby", Window, Names, 10_000, [], 0, definitionMaxChars);

    private static CharacterPrompt Ruby => new("Ruby", "Quinn")
    {
        DefaultSystemPrompt = "Play {{char}}.",
        Persona = "A pirate.",
        Description = "Captain.",
        Personality = "gruff",
        UserDescription = "A sailor.",
        Scenario = "At sea.",
        ExampleDialogues = "<START>\n{{user}}: Hi\n{{char}}: Ahoy.",
    };

    [Fact]
    public void Sections_GoInTheDocumentedOrder_EmptyOnesLeftOut_NoFinalMessageWithoutInstructions()
    {
        var messages = Build(Ruby with { Personality = "", Description = "" });

        Assert.Equal(2, messages.Count);
        Assert.Equal(ChatRole.System, messages[0].Role);
        Assert.Equal("Play Ruby.\n\nA pirate.\n\nThe user is Quinn. A sailor.\n\nScenario: At sea.\n\nExample dialogues:\n<START>\nQuinn: Hi\nRuby: Ahoy.", messages[0].Text);
        Assert.Equal((ChatRole.User, "Hi"), (messages[1].Role, messages[1].Text));
    }

    [Fact]
    public void Placeholders_AreReplacedWhateverTheirCase_OnlyOnce_AndOriginalIsTheDefaultSystemPrompt()
    {
        var messages = Build(new CharacterPrompt("{{user}}", "Quinn")
        {
            DefaultSystemPrompt = "Default for {{char}}.",
            SystemPrompt = "{{ORIGINAL}} Also: {{Char}} and {{USER}}; {{original}}",
            Persona = "{{char}}/{{user}}/{{chars}}/{ {user} }",
            PostHistoryInstructions = "{{original}}Stay {{char}}.",
        });

        Assert.Equal("Default for {{user}}. Also: {{user}} and Quinn; Default for {{user}}.\n\n{{user}}/Quinn/{{chars}}/{ {user} }", messages[0].Text);
        Assert.Equal((ChatRole.System, "Stay {{user}}."), (messages[^1].Role, messages[^1].Text));
    }

    [Fact]
    public void OverTheBudget_WholeExampleDialoguesGoFirst()
    {
        var definition = Ruby with { ExampleDialogues = "<START>\nfirst example\n<START>\nsecond example, much longer than the first one" };
        var full = Build(definition)[0].Text;

        var trimmed = Build(definition, full.Length - 10)[0].Text;

        Assert.EndsWith("Example dialogues:\n<START>\nfirst example", trimmed);
        Assert.Contains("Scenario: At sea.", trimmed);
    }

    [Fact]
    public void FarOverTheBudget_ExamplesThenScenarioThenPersonalityGo_TheSystemPromptStays()
    {
        var definition = Ruby with { PostHistoryInstructions = "Be brief." };

        var messages = Build(definition, "Play Ruby.\n\nA pirate.\n\nCaptain.\n\nThe user is Quinn. A sailor.".Length + "Be brief.".Length);

        Assert.Equal("Play Ruby.\n\nA pirate.\n\nCaptain.\n\nThe user is Quinn. A sailor.", messages[0].Text);
        Assert.Equal("Be brief.", messages[^1].Text);
    }
}
