using ChatService.Inference;

namespace ChatService.Chats;

/// <summary>
/// A lorebook (SillyTavern "world info", a card's <c>character_book</c>): entries whose content enters
/// a reply's prompt when their keys appear in the chat's newest messages (or always, when constant).
/// Owned by one user; attached to one of the user's characters (<see cref="CharacterId"/>: every chat
/// with it uses the book) or to chats of the user's (each chat names the books it uses).
/// </summary>
public sealed record Lorebook(string Id, string OwnerUserId, string Name)
{
    public string Description { get; init; } = "";

    /// <summary>The character whose replies use the book; null for a book attached to chats only.</summary>
    public string? CharacterId { get; init; }

    /// <summary>How many of the newest messages an entry without its own scan depth scans.</summary>
    public int ScanDepth { get; init; } = LoreLimits.DefaultScanDepth;

    /// <summary>The most tokens (estimated) the book's triggered entries may take in one prompt; 0: only the service's lore budget.</summary>
    public int TokenBudget { get; init; }

    public IReadOnlyList<LoreEntry> Entries { get; init; } = [];

    /// <summary>1 when created, one more with every update: what caches of the book (and of its compiled keys) are checked against.</summary>
    public long Version { get; init; } = 1;

    public DateTimeOffset CreateTime { get; init; }

    public DateTimeOffset UpdateTime { get; init; }
}

/// <summary>
/// One lore entry. <see cref="Keys"/> are words (whole words, case-insensitive unless
/// <see cref="CaseSensitive"/>; <see cref="MatchWholeWords"/> off matches anywhere) or, with
/// <see cref="UseRegex"/> or written as <c>/pattern/flags</c>, regular expressions. With
/// <see cref="Selective"/> and secondary keys, one secondary key must match as well.
/// </summary>
public sealed record LoreEntry(string Id)
{
    /// <summary>A name for people (card <c>comment</c>/<c>name</c>); never part of a prompt.</summary>
    public string Comment { get; init; } = "";

    public IReadOnlyList<string> Keys { get; init; } = [];

    public IReadOnlyList<string> SecondaryKeys { get; init; } = [];

    /// <summary>A primary key and one of the <see cref="SecondaryKeys"/> must both match (when there are secondary keys).</summary>
    public bool Selective { get; init; }

    /// <summary>Every key is a regular expression (a key written <c>/pattern/flags</c> is one anyway).</summary>
    public bool UseRegex { get; init; }

    public bool CaseSensitive { get; init; }

    public bool MatchWholeWords { get; init; } = true;

    public string Content { get; init; } = "";

    /// <summary>Always inserted, whatever the messages say.</summary>
    public bool Constant { get; init; }

    public bool Enabled { get; init; } = true;

    public LorePosition Position { get; init; } = LorePosition.BeforeHistory;

    /// <summary>Higher orders are kept over the lore budget; kept entries at one position go in ascending order.</summary>
    public int Order { get; init; } = 100;

    /// <summary>For <see cref="LorePosition.AtDepth"/>: how many messages above the newest.</summary>
    public int Depth { get; init; } = LoreLimits.DefaultDepth;

    /// <summary>How many of the newest messages this entry scans; null: the book's <see cref="Lorebook.ScanDepth"/>.</summary>
    public int? ScanDepth { get; init; }
}

/// <summary>The bounds of a lorebook, checked field by field when one is written (see <see cref="LorebookRules"/>).</summary>
public static class LoreLimits
{
    public const int MaxNameChars = 128;
    public const int MaxDescriptionChars = 2000;
    public const int MaxEntries = 256;
    public const int MaxEntryIdChars = 64;
    public const int MaxCommentChars = 256;
    public const int MaxKeysPerEntry = 32;
    public const int MaxKeyChars = 256;
    public const int MaxContentChars = 8000;

    /// <summary>All entries' content together: what one book may add to prompts at most.</summary>
    public const int MaxBookContentChars = 200_000;

    public const int DefaultScanDepth = 2;
    public const int MaxScanDepth = 100;
    public const int DefaultDepth = 4;
    public const int MaxDepth = 1000;
    public const int MaxTokenBudget = 1_000_000;

    /// <summary>Books one user may own.</summary>
    public const int MaxBooksPerUser = 100;

    /// <summary>Books one chat may use besides its speakers' own.</summary>
    public const int MaxBooksPerChat = 10;

    /// <summary>How long one regular-expression key may take on one message before it counts as no match.</summary>
    public static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(50);
}
