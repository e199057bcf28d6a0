using System.ComponentModel.DataAnnotations;

namespace ChatService.Chats;

/// <summary>The chat memory note. Bound from the <c>Memory</c> section.</summary>
public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>
    /// Longest memory note, in characters (UTF-16 code units, as the prompt budgets count); UpdateChatMemory
    /// refuses a longer one with INVALID_ARGUMENT naming <c>note</c>. Default: 2000.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxNoteChars { get; set; } = 2_000;

    /// <summary>
    /// Where a note goes when its chat did not choose: null or -1 ahead of the recent turns (after the
    /// pins), n &gt;= 0 that many messages above the newest. Default: null.
    /// </summary>
    [Range(-1, MaxDepth)]
    public int? DefaultDepth { get; set; }

    /// <summary>The deepest a note may go (messages above the newest).</summary>
    public const int MaxDepth = 100;
}
