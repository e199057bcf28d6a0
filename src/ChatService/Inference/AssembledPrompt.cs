using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>The parts of a prompt the model-call log counts apart, in the order they are given room.</summary>
public enum PromptSection
{
    /// <summary>The system prompt and the character's definition (the first system message, less what is counted apart).</summary>
    System = 0,

    /// <summary>The user's persona, inside the first system message.</summary>
    Persona = 1,

    /// <summary>Pinned turns older than the recent ones.</summary>
    Pins = 2,

    /// <summary>The chat's memory note.</summary>
    Memory = 3,

    /// <summary>The latest rolling summary.</summary>
    Summary = 4,

    /// <summary>Lore entries, wherever they were placed.</summary>
    Lore = 5,

    /// <summary>The recent turns, the newest user turn among them.</summary>
    History = 6,

    /// <summary>The character's post-history instructions.</summary>
    PostHistory = 7,
}

/// <summary>
/// A prompt as the assembler laid it out: the messages to send, what each section costs by the route's
/// tokenizer, and where the recent turns start.
/// </summary>
/// <param name="Messages">The messages, in the order they are sent.</param>
/// <param name="SectionTokens">
/// Tokens per <see cref="PromptSection"/> (indexed by it), each message's framing overhead counted with its
/// section. Inside the first system message, the persona and the lore placed there are counted apart
/// and the rest is <see cref="PromptSection.System"/>.
/// </param>
/// <param name="TotalTokens">
/// The whole prompt by <paramref name="Tokenizer"/>: every message's text and framing, and the reply's
/// priming (<see cref="PromptTokenizer.MessageOverhead"/>); at most <paramref name="BudgetTokens"/>.
/// </param>
/// <param name="BudgetTokens">The route's context less its reply reserve.</param>
/// <param name="Tokenizer">The tokenizer's name (<c>o200k_base</c>, <c>cl100k_base</c> or <c>chars</c>).</param>
/// <param name="OldestRecentSeq">The seq of the oldest recent turn kept; 0 when none was.</param>
/// <param name="LoreIds">The lore entries that made it in, by id.</param>
public sealed record AssembledPrompt(
    IReadOnlyList<ChatMessage> Messages,
    IReadOnlyList<int> SectionTokens,
    int TotalTokens,
    int BudgetTokens,
    string Tokenizer,
    long OldestRecentSeq,
    IReadOnlyList<string> LoreIds)
{
    /// <summary>
    /// The oldest recent turn the history section could hold without this prompt's one-offs (its newest
    /// user turn and its triggered lore, whose sizes vary from prompt to prompt; constant lore is in every
    /// prompt, so its room is not given back); 0 when unknown. The
    /// summary trigger counts as fallen out only the turns before both this and <see cref="OldestRecentSeq"/>,
    /// so one huge message does not make a summary of turns the next prompt shows again.
    /// </summary>
    public long HistoryCeilingSeq { get; init; }

    /// <summary>The number of <see cref="PromptSection"/> values.</summary>
    public const int SectionCount = 8;

    /// <summary>The section's names as the log and the API spell them, in <see cref="PromptSection"/> order.</summary>
    public static readonly IReadOnlyList<string> SectionNames = ["system", "persona", "pins", "memory", "summary", "lore", "history", "post_history"];

    /// <summary>The tokens of <paramref name="section"/>.</summary>
    public int this[PromptSection section] => SectionTokens[(int)section];
}

/// <summary>
/// The token budgets of one prompt: the whole (<see cref="PromptTokens"/>, from the route) and each
/// section's own ceiling (from <c>Dispatch</c>), all counted by <see cref="Tokenizer"/>.
/// </summary>
public sealed record PromptBudgets(PromptTokenizer Tokenizer, int PromptTokens)
{
    public int DefinitionTokens { get; init; } = 12_000;

    public int PinnedTokens { get; init; } = 1_000;

    public int MemoryTokens { get; init; } = 500;

    public int SummaryTokens { get; init; } = 1_000;

    public int LoreTokens { get; init; } = 1_000;

    public int HistoryTokens { get; init; } = 3_000;
}
