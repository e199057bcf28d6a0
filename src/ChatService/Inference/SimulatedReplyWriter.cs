using System.Text;
using System.Text.RegularExpressions;

namespace ChatService.Inference;

/// <summary>
/// Composes the simulated model's replies: the persona's name (or its first words), an echo of
/// the last user message, then filler words drawn from the request's seeded random, so a test
/// can see that the persona and the prompt reached the model.
/// </summary>
internal static partial class SimulatedReplyWriter
{
    private const int EchoWords = 8;

    private static readonly string[] Vocabulary =
    [
        "that", "sounds", "really", "interesting", "and", "I", "think", "we", "could", "talk", "about",
        "it", "more", "honestly", "the", "story", "feels", "like", "a", "small", "adventure", "tonight",
        "you", "know", "what", "maybe", "tell", "me", "something", "new", "every", "time", "wonder",
        "curious", "little", "bright", "quiet", "moment", "again", "together", "remember", "when",
        "there", "was", "nothing", "but", "rain", "sunlight", "stars", "over", "old", "city",
        "perhaps", "tomorrow", "gentle", "laugh", "dream", "plan", "secret", "kind", "of", "magic",
    ];

    /// <summary>The reply as tokens: words, each with its trailing space except the last.</summary>
    /// <param name="random">The request's seeded random; only used for the filler.</param>
    /// <param name="tokenCount">Wanted length; the persona and echo are kept even when longer, unless <paramref name="tokenLimit"/> cuts them.</param>
    /// <param name="tokenLimit">Hard cap from the request.</param>
    public static List<string> Write(Random random, string? persona, string? lastUserMessage, int tokenCount, int tokenLimit)
    {
        var words = new List<string>();
        words.AddRange(Words(PersonaName(persona)));
        words.Add("here.");
        var echo = Echo(lastUserMessage);
        if (echo.Length > 0)
        {
            words.Add("About");
            var echoWords = Words(echo);
            echoWords[0] = "\"" + echoWords[0];
            echoWords[^1] += "\":";
            words.AddRange(echoWords);
        }

        var target = Math.Max(tokenCount, words.Count);
        var sentenceStart = true;
        var sentenceLength = 0;
        var sentenceTarget = random.Next(6, 13);
        while (words.Count < target)
        {
            var word = Vocabulary[random.Next(Vocabulary.Length)];
            words.Add(sentenceStart ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            sentenceStart = false;
            if (++sentenceLength == sentenceTarget)
            {
                words[^1] += random.Next(4) == 0 ? "!" : ".";
                (sentenceStart, sentenceLength, sentenceTarget) = (true, 0, random.Next(6, 13));
            }
        }

        if (words.Count > tokenLimit)
        {
            words.RemoveRange(tokenLimit, words.Count - tokenLimit);
        }
        else if (!sentenceStart)
        {
            words[^1] += ".";
        }

        for (var i = 0; i < words.Count - 1; i++)
        {
            words[i] += " ";
        }

        return words;
    }

    /// <summary>The name the persona gives (<c>"You are Aria"</c>, <c>"named Captain Ruby"</c>), else its first three words.</summary>
    internal static string PersonaName(string? persona)
    {
        if (string.IsNullOrWhiteSpace(persona))
        {
            return "Assistant";
        }

        var match = NameInPersona().Match(persona);
        if (match.Success)
        {
            return match.Groups["name"].Value;
        }

        return string.Join(' ', Words(persona).Take(3)).TrimEnd('.', ',', ';', ':', '!', '?');
    }

    private static string Echo(string? lastUserMessage)
    {
        if (string.IsNullOrWhiteSpace(lastUserMessage))
        {
            return "";
        }

        var words = Words(SimulatedDirectives.Strip(lastUserMessage));
        if (words.Count == 0)
        {
            return "";
        }

        var echo = new StringBuilder(string.Join(' ', words.Take(EchoWords)));
        if (words.Count > EchoWords)
        {
            echo.Append('…');
        }

        return echo.ToString();
    }

    private static List<string> Words(string text) =>
        [.. text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    [GeneratedRegex(@"\b(?:[Yy]ou are|[Yy]ou're|I am|I'm|named|called|[Nn]ame is)\s+(?<name>\p{Lu}[\p{L}\p{M}\p{Nd}'\-]*(?:\s+\p{Lu}[\p{L}\p{M}\p{Nd}'\-]*){0,2})", RegexOptions.CultureInvariant)]
    private static partial Regex NameInPersona();
}
