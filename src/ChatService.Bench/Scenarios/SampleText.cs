using System.Text;

namespace ChatService.Bench.Scenarios;

/// <summary>User messages of realistic length (100-300 characters) made of everyday words.</summary>
internal static class SampleText
{
    private static readonly string[] Words =
    [
        "I", "was", "thinking", "about", "what", "you", "said", "yesterday", "and", "honestly", "it", "made",
        "me", "wonder", "whether", "we", "could", "try", "something", "different", "this", "time", "maybe",
        "a", "walk", "through", "the", "old", "harbour", "at", "night", "with", "lanterns", "tell", "me",
        "more", "about", "your", "favourite", "place", "in", "the", "city", "do", "you", "remember", "when",
        "rain", "started", "and", "everyone", "ran", "for", "cover", "laughing", "so", "hard", "that",
    ];

    public static string UserMessage(Random random)
    {
        var target = random.Next(100, 301);
        var text = new StringBuilder(target + 16);
        while (text.Length < target)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(Words[random.Next(Words.Length)]);
        }

        if (text.Length > 300)
        {
            text.Length = 300;
        }

        return text.Append('?').ToString().Trim();
    }
}
