namespace ChatService.Inference;

/// <summary>Where a triggered lore entry goes in the prompt.</summary>
public enum LorePosition
{
    /// <summary>After the memory note and the summary, ahead of the recent turns (the default).</summary>
    BeforeHistory = 0,

    /// <summary>Ahead of the character's definition, right after the system prompt.</summary>
    BeforeDefinition = 1,

    /// <summary>Right after the character's definition and the user's persona, ahead of the pins.</summary>
    AfterDefinition = 2,

    /// <summary>Among the recent turns, <see cref="LoreInsertion.Depth"/> messages above the newest (0: after it).</summary>
    AtDepth = 3,
}

/// <summary>
/// A lore entry the chat's recent messages triggered (or a constant one), as the prompt assembler
/// takes it. Over the lore budget, the entries with the lowest <see cref="Order"/> are dropped first;
/// kept entries that share a position go in ascending <see cref="Order"/>.
/// </summary>
/// <param name="EntryId">The entry's id, for the model-call log and the assembled-prompt view.</param>
/// <param name="Text">The entry's content, macros already expanded.</param>
/// <param name="Constant">
/// A constant entry (in every prompt whatever was said), not one this prompt's messages triggered: the
/// summary trigger's one-off discount leaves it out, since every later prompt spends its room too.
/// </param>
public sealed record LoreInsertion(string EntryId, string Text, LorePosition Position, int Order, int Depth, bool Constant = false);

/// <summary>
/// What a chat remembers beyond its recent turns, as the prompt assembler takes it: the user's memory
/// note, the rolling summary of older turns and the lore entries triggered for this reply.
/// </summary>
public sealed record PromptMemory
{
    /// <summary>Nothing remembered: the prompt is the definition, the pins and the recent turns.</summary>
    public static readonly PromptMemory None = new();

    /// <summary>The chat's memory note (user-written); null or empty when it has none.</summary>
    public string? Note { get; init; }

    /// <summary>
    /// Where the note goes: null ahead of the recent turns (after the pins); otherwise that many
    /// messages above the newest (0: after the newest).
    /// </summary>
    public int? NoteDepth { get; init; }

    /// <summary>The latest rolling summary of the chat's older turns; null when there is none yet.</summary>
    public string? Summary { get; init; }

    /// <summary>The last turn (seq) the summary covers; 0 with no summary.</summary>
    public long SummaryThroughSeq { get; init; }

    /// <summary>
    /// The last turn (seq) the chat's stored summary covers, whether or not this prompt shows it (a regenerated
    /// old reply leaves out a summary of its own future, or one that covers its whole window); 0 with none.
    /// The summary trigger counts from it, so such a reply queues no job for a span the summary covers.
    /// </summary>
    public long StoredSummaryThroughSeq { get; init; }

    /// <summary>
    /// The chat's summary generation as the reply's window knew it (<c>ChatMemory.SummaryGeneration</c>: the
    /// newest version ever stored, discarded ones included), whether or not this prompt shows the summary;
    /// <see cref="long.MaxValue"/> when unknown. The summary trigger passes it on, so that a job triggered
    /// from a window read before a store of its span is refused in Redis, without reading Spanner.
    /// </summary>
    public long SummaryGeneration { get; init; } = long.MaxValue;

    /// <summary>Triggered and constant lore entries, in no particular order.</summary>
    public IReadOnlyList<LoreInsertion> Lore { get; init; } = [];
}
