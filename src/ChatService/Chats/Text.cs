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

    /// <summary>
    /// The longest start of <paramref name="text"/> that is at most <paramref name="maxBytes"/> bytes of
    /// UTF-8, never splitting a surrogate pair or grapheme; the text itself when it fits.
    /// </summary>
    public static string WithinUtf8Bytes(string text, int maxBytes)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var length = 0;
        var bytes = 0;
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            var element = (string)enumerator.Current;
            var size = System.Text.Encoding.UTF8.GetByteCount(element);
            if (bytes + size > maxBytes)
            {
                break;
            }

            bytes += size;
            length += element.Length;
        }

        return text[..length];
    }
}
