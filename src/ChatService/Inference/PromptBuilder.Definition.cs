using ChatService.Chats;
using Microsoft.Extensions.AI;

namespace ChatService.Inference;

public static partial class PromptBuilder
{
    /// <summary>
    /// Which sections give way first when the first system message is over its ceiling: the user's persona
    /// first (it comes after the system prompt and the definition in the prompt's priorities), then the
    /// definition from its least needed part (example dialogues) to the system prompt, which goes last.
    /// </summary>
    private static readonly Part[] CutOrder =
        [Part.User, Part.ExampleDialogues, Part.Scenario, Part.Personality, Part.Description, Part.Persona, Part.PostHistory, Part.SystemPrompt];

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

        public int Length => !Shown ? 0 : Text.Length == 0 ? Label.Length : Label.Length + Glue.Length + Text.Length;

        public override string ToString() => Text.Length == 0 ? Label : Label + Glue + Text;
    }

    /// <summary>
    /// The definition's sections with their placeholders replaced, uncut, no lore in them yet (see
    /// <see cref="WithLore"/>): what <see cref="Compose"/> fits to a budget. Expanded once per prompt,
    /// however many sizes the assembler tries.
    /// </summary>
    private static IReadOnlyList<Section> Sections(CharacterPrompt d)
    {
        string Expand(string text) => Macros.Expand(text, d.CharacterName, d.UserName);
        var systemPrompt = d.SystemPrompt.Length > 0 ? Macros.ExpandOriginal(d.SystemPrompt, d.DefaultSystemPrompt) : d.DefaultSystemPrompt;
        return new List<Section>
        {
            new(Part.SystemPrompt, "", Expand(systemPrompt)),
            new(Part.LoreBefore, "", ""),
            new(Part.Persona, "", Expand(d.Persona)),
            new(Part.Description, "", Expand(d.Description)),
            new(Part.Personality, $"{d.CharacterName}'s personality: ", Expand(d.Personality)),
            new(Part.User, $"The user is {d.UserName}.", Expand(d.UserDescription ?? ""), Glue: " ", Always: d.UserDescription is not null),
            new(Part.Scenario, "Scenario: ", Expand(d.Scenario)),
            new(Part.ExampleDialogues, "Example dialogues:\n", Expand(d.ExampleDialogues)),
            new(Part.LoreAfter, "", ""),
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

    /// <summary>
    /// The first system message and the post-history instructions from expanded sections, cut to
    /// <paramref name="maxChars"/> (characters, post-history instructions included): sections are cut from
    /// their ends in <see cref="CutOrder"/>, example dialogues as whole <c>&lt;START&gt;</c> blocks while any fits.
    /// </summary>
    private static (string System, string PostHistory) Compose(IReadOnlyList<Section> expanded, int maxChars)
    {
        var sections = Fitted(expanded, maxChars);
        var system = string.Join(SectionSeparator, sections.Where(s => s.Shown && s.Part != Part.PostHistory));
        return (system, sections.Single(s => s.Part == Part.PostHistory).Text);
    }

    /// <summary>The sections as <see cref="Compose"/> cuts them to <paramref name="maxChars"/>.</summary>
    private static List<Section> Fitted(IReadOnlyList<Section> expanded, int maxChars)
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

        return sections;
    }

    private static int Total(List<Section> sections)
    {
        int shown = 0, length = 0, postHistory = 0;
        foreach (var section in sections)
        {
            if (section.Part == Part.PostHistory)
            {
                postHistory = section.Length;
            }
            else if (section.Shown)
            {
                shown++;
                length += section.Length;
            }
        }

        return length + (Math.Max(0, shown - 1) * SectionSeparator.Length) + postHistory;
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
