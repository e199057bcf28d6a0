using ChatService.Chats;
using Microsoft.Extensions.AI;

namespace ChatService.Inference;

public static partial class PromptBuilder
{
    /// <summary>
    /// A character's prompt: one system message with, in this order, the system prompt (the
    /// character's own, else the service's), the character's persona text, description and
    /// personality, the user's persona (name and description), the scenario and the example
    /// dialogues; then the pinned and recent turns as the other overloads lay them out; then the
    /// character's post-history instructions as a final system message, after the last turn. In every
    /// text, <c>{{char}}</c> is the character's display name and <c>{{user}}</c> the persona's name
    /// (case-insensitive).
    /// </summary>
    /// <param name="definitionMaxChars">
    /// Budget for the two system messages, in characters after the placeholders are replaced (the
    /// sections' sizes are bounded where characters are created; a name replacing many placeholders
    /// can still outgrow them). Over it, sections are cut from their ends in <see cref="CutOrder"/>:
    /// example dialogues first (whole <c>&lt;START&gt;</c> blocks while any fits), the system prompt last.
    /// </param>
    public static IReadOnlyList<ChatMessage> Build(
        CharacterPrompt definition,
        string speakerCharacterId,
        IReadOnlyList<PromptTurn> windowOldestFirst,
        IReadOnlyDictionary<string, string> characterNames,
        int maxChars,
        IReadOnlyList<PromptTurn> pinnedOldestFirst,
        int pinnedMaxChars,
        int definitionMaxChars)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentOutOfRangeException.ThrowIfNegative(definitionMaxChars);
        var (system, postHistory) = Render(definition, definitionMaxChars);
        var messages = Turns(speakerCharacterId, windowOldestFirst, characterNames, maxChars, pinnedOldestFirst, pinnedMaxChars);
        messages.Insert(0, new ChatMessage(ChatRole.System, system));
        if (postHistory.Length > 0)
        {
            messages.Add(new ChatMessage(ChatRole.System, postHistory));
        }

        return messages;
    }

    /// <summary>Which sections give way first when the definition is over its budget.</summary>
    private static readonly Part[] CutOrder =
        [Part.ExampleDialogues, Part.Scenario, Part.Personality, Part.Description, Part.Persona, Part.User, Part.PostHistory, Part.SystemPrompt];

    private const string SectionSeparator = "\n\n";

    private enum Part
    {
        SystemPrompt,
        LoreBefore,
        LoreAfter,
        Persona,
        Description,
        Personality,
        User,
        Scenario,
        ExampleDialogues,
        PostHistory,
    }

    /// <summary>
    /// A section: a fixed label (never cut), then its text after <paramref name="Glue"/>; a section
    /// whose text is empty is left out, unless it is <paramref name="Always"/> shown (as its label).
    /// </summary>
    private sealed record Section(Part Part, string Label, string Text, string Glue = "", bool Always = false)
    {
        public bool Shown => Always || Text.Length > 0;

        public int Length => Shown ? ToString().Length : 0;

        public override string ToString() => Text.Length == 0 ? Label : Label + Glue + Text;
    }

    /// <summary>
    /// The first system message and the post-history instructions (empty when there are none), placeholders
    /// replaced, within the budget. <paramref name="loreBefore"/> goes right after the system prompt and
    /// <paramref name="loreAfter"/> at the end; they are never cut here (the lore budget bounds them) and
    /// count against <paramref name="maxChars"/> like the rest.
    /// </summary>
    private static (string System, string PostHistory) Render(CharacterPrompt d, int maxChars, string loreBefore = "", string loreAfter = "") =>
        Compose(Sections(d, loreBefore, loreAfter), maxChars);

    /// <summary>
    /// The definition's sections with their placeholders replaced, uncut: what <see cref="Compose"/> fits to
    /// a budget. Expanded once per prompt, however many sizes the assembler tries.
    /// </summary>
    private static IReadOnlyList<Section> Sections(CharacterPrompt d, string loreBefore = "", string loreAfter = "")
    {
        string Expand(string text) => Macros.Expand(text, d.CharacterName, d.UserName);
        var systemPrompt = d.SystemPrompt.Length > 0 ? Macros.ExpandOriginal(d.SystemPrompt, d.DefaultSystemPrompt) : d.DefaultSystemPrompt;
        return new List<Section>
        {
            new(Part.SystemPrompt, "", Expand(systemPrompt)),
            new(Part.LoreBefore, "", loreBefore),
            new(Part.Persona, "", Expand(d.Persona)),
            new(Part.Description, "", Expand(d.Description)),
            new(Part.Personality, $"{d.CharacterName}'s personality: ", Expand(d.Personality)),
            new(Part.User, $"The user is {d.UserName}.", Expand(d.UserDescription ?? ""), Glue: " ", Always: d.UserDescription is not null),
            new(Part.Scenario, "Scenario: ", Expand(d.Scenario)),
            new(Part.ExampleDialogues, "Example dialogues:\n", Expand(d.ExampleDialogues)),
            new(Part.LoreAfter, "", loreAfter),
            new(Part.PostHistory, "", Expand(Macros.ExpandOriginal(d.PostHistoryInstructions, ""))),
        };
    }

    /// <summary><paramref name="expanded"/> with the lore placed inside the first system message.</summary>
    private static IReadOnlyList<Section> WithLore(IReadOnlyList<Section> expanded, string loreBefore, string loreAfter) =>
        [.. expanded.Select(s => s.Part switch
        {
            Part.LoreBefore => s with { Text = loreBefore },
            Part.LoreAfter => s with { Text = loreAfter },
            _ => s,
        })];

    /// <summary>The first system message and the post-history instructions from expanded sections, cut to <paramref name="maxChars"/> (see <see cref="Render"/>).</summary>
    private static (string System, string PostHistory) Compose(IReadOnlyList<Section> expanded, int maxChars)
    {
        var sections = new List<Section>(expanded);
        foreach (var part in CutOrder)
        {
            var excess = Total(sections) - maxChars;
            if (excess <= 0)
            {
                break;
            }

            var at = sections.FindIndex(s => s.Part == part);
            var section = sections[at];
            var keep = Math.Max(0, section.Text.Length - excess);
            sections[at] = section with { Text = part == Part.ExampleDialogues ? WholeExamples(section.Text, keep) : Head(section.Text, keep) };
        }

        var system = string.Join(SectionSeparator, sections.Where(s => s.Shown && s.Part != Part.PostHistory));
        return (system, sections.Single(s => s.Part == Part.PostHistory).Text);
    }

    private static int Total(List<Section> sections)
    {
        var shown = sections.Where(s => s.Shown && s.Part != Part.PostHistory).ToList();
        return shown.Sum(s => s.Length) + (Math.Max(0, shown.Count - 1) * SectionSeparator.Length) + sections.Single(s => s.Part == Part.PostHistory).Length;
    }

    /// <summary>The example dialogues that fit <paramref name="maxChars"/>: whole <c>&lt;START&gt;</c> blocks from the first while one fits, else the text cut.</summary>
    private static string WholeExamples(string examples, int maxChars)
    {
        if (examples.Length <= maxChars)
        {
            return examples;
        }

        var end = 0;
        for (var next = examples.IndexOf("<START>", 1, StringComparison.OrdinalIgnoreCase);
             next > 0 && next <= maxChars;
             next = next + 1 < examples.Length ? examples.IndexOf("<START>", next + 1, StringComparison.OrdinalIgnoreCase) : -1)
        {
            end = next;
        }

        return end > 0 ? examples[..end].TrimEnd() : Head(examples, maxChars);
    }

    /// <summary>The first <paramref name="maxChars"/> characters, never ending inside a surrogate pair.</summary>
    private static string Head(string text, int maxChars)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var end = Math.Max(0, maxChars);
        if (end > 0 && char.IsHighSurrogate(text[end - 1]))
        {
            end--;
        }

        return text[..end];
    }
}
