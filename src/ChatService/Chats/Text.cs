using System.Globalization;

namespace ChatService.Chats;

internal static class Text
{
    /// <summary>The first <paramref name="maxChars"/> characters, never splitting a surrogate pair or grapheme.</summary>
    public static string Preview(string text, int maxChars = 100)
    {
        if (text.Length <= maxChars)
        {
            return text;
        }

        var length = 0;
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            var element = (string)enumerator.Current;
            if (length + element.Length > maxChars - 1)
            {
                break;
            }

            length += element.Length;
        }

        return string.Concat(text.AsSpan(0, length), "…");
    }
}
