using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace ChatService.Inference;

/// <summary>
/// Counts the tokens of prompt texts the way a backend's model does, so a prompt's budget is kept in
/// the model's own units. Thread-safe; one instance per encoding per process (<see cref="For"/>).
/// </summary>
public sealed class PromptTokenizer
{
    /// <summary>The encoding of GPT-4o and later OpenAI models (and a fair count for most open models).</summary>
    public const string O200kBase = "o200k_base";

    /// <summary>The encoding of GPT-4 and GPT-3.5.</summary>
    public const string Cl100kBase = "cl100k_base";

    /// <summary>No tokenizer: about four characters a token (<see cref="TokenEstimate"/>).</summary>
    public const string Chars = "chars";

    /// <summary>The names <c>Inference:Backends:&lt;name&gt;:Tokenizer</c> accepts.</summary>
    public static readonly IReadOnlyList<string> Names = [O200kBase, Cl100kBase, Chars];

    /// <summary>
    /// Tokens a chat message costs beyond its text (role and framing; OpenAI documents 3 for its chat
    /// format, and chat templates of open models spend a few too), and a reply's priming.
    /// </summary>
    public const int MessageOverhead = 3;

    private static readonly ConcurrentDictionary<string, PromptTokenizer> Shared = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The estimate, for when no tokenizer is configured or one could not be loaded.</summary>
    public static readonly PromptTokenizer Estimate = new(Chars, null);

    private readonly Tokenizer? _tokenizer;

    /// <summary>Texts at most this long are counted each time: cheaper than a look-up.</summary>
    private const int ShortText = 64;

    /// <summary>The characters of text <see cref="_counts"/> keeps at most (about 8 MB) before it starts over.</summary>
    private const long MaxCachedChars = 4_000_000;

    /// <summary>
    /// Counts by text. A warm chat's prompt is mostly what the previous one was: the window's turns (the
    /// same strings, kept by the cached window) and the rendered definition (equal text, rebuilt each
    /// time); each is counted once while it stays here. Bounded by the characters it holds: when full,
    /// it starts over (a burst of misses, never growth).
    /// </summary>
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    private long _cachedChars;

    private PromptTokenizer(string name, Tokenizer? tokenizer)
    {
        Name = name;
        _tokenizer = tokenizer;
    }

    /// <summary>The encoding's name, as configured (<see cref="O200kBase"/>, <see cref="Cl100kBase"/> or <see cref="Chars"/>).</summary>
    public string Name { get; }

    /// <summary>
    /// The shared tokenizer of <paramref name="name"/> (case-insensitive; null or empty is <see cref="Chars"/>),
    /// loaded on first use from the encoding's NuGet data package. An unknown name throws; configuration
    /// validation refuses one before it gets here.
    /// </summary>
    public static PromptTokenizer For(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Equals(Chars, StringComparison.OrdinalIgnoreCase))
        {
            return Estimate;
        }

        if (!IsKnown(name))
        {
            throw new ArgumentException($"Unknown tokenizer '{name}'; expected one of {string.Join(", ", Names)}.", nameof(name));
        }

        return Shared.GetOrAdd(name.ToLowerInvariant(), static n => new PromptTokenizer(n, TiktokenTokenizer.CreateForEncoding(n)));
    }

    /// <summary>Whether <paramref name="name"/> names a tokenizer (null or empty: the estimate).</summary>
    public static bool IsKnown(string? name) =>
        string.IsNullOrWhiteSpace(name) || Names.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The tokens of <paramref name="text"/>.</summary>
    public int Count(string text)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (_tokenizer is null)
        {
            return TokenEstimate.FromChars(text.Length);
        }

        if (text.Length <= ShortText)
        {
            return _tokenizer.CountTokens(text);
        }

        if (_counts.TryGetValue(text, out var known))
        {
            return known;
        }

        var count = _tokenizer.CountTokens(text);
        if (Interlocked.Add(ref _cachedChars, text.Length) > MaxCachedChars)
        {
            _counts.Clear();
            Interlocked.Exchange(ref _cachedChars, text.Length);
        }

        _counts.TryAdd(text, count);
        return count;
    }

    /// <summary>What a message with <paramref name="text"/> costs in a prompt: its tokens and <see cref="MessageOverhead"/>.</summary>
    public int CountMessage(string text) => Count(text) + MessageOverhead;
}
