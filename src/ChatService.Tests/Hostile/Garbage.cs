using System.Text;
using ChatService.Chats;

namespace ChatService.Tests.Hostile;

/// <summary>Malformed, oversized and odd values, drawn from the suite's seeded random.</summary>
internal static class Garbage
{
    /// <summary>Text that is awkward but valid: scripts, emoji with joiners, combining marks, bidi controls, NULs.</summary>
    private static readonly string[] OddPieces =
    [
        "héllo", "日本語のテキスト", "مرحبا بالعالم", "שלום", "👩‍👩‍👧‍👦", "🏳️‍🌈", "e\u0301\u0301\u0301", "\u202eevil\u202c", "\u200b\u200d",
        "\0", "NUL\0inside", "'; DROP TABLE Chats; --", "{{chat}}", "%s%n%x", "\\u0000", "[sim:hang]", "[sim:slow]", "Ω≈ç√∫", "\ufeffbom",
        "\U0001F600\U0001F4A9", "ᚠᛇᚻ", "𝕳𝖊𝖑𝖑𝖔", "tab\there", "line\r\nbreak",
    ];

    /// <summary>A chat/character/candidate id that is not a canonical lowercase UUID.</summary>
    public static string BadId(Random random, bool allowEmpty = true)
    {
        var uuid = Guid.NewGuid().ToString("D");
        string id = random.Next(allowEmpty ? 16 : 15) switch
        {
            0 => "x",
            1 => uuid.ToUpperInvariant(),
            2 => "{" + uuid + "}",
            3 => uuid.Replace("-", ""),
            4 => uuid + " ",
            5 => " " + uuid,
            6 => uuid + "\n",
            7 => uuid[..35],
            8 => uuid + "0",
            9 => uuid[..35] + "g",
            // Digits that are not ASCII: Arabic-Indic and fullwidth.
            10 => string.Concat(uuid.Select(c => char.IsAsciiDigit(c) ? (char)('٠' + (c - '0')) : c)),
            11 => string.Concat(uuid.Select(c => char.IsAsciiDigit(c) ? (char)('０' + (c - '0')) : c)),
            12 => uuid.Insert(random.Next(36), "\u200b"),
            13 => new string('7', random.Next(37, 100_000)),
            14 => "'; DELETE FROM Chats WHERE '1'='1",
            _ => "",
        };
        return Ids.IsValid(id) ? "not-a-uuid" : id;
    }

    /// <summary>An idempotency key outside 1..64 characters of [A-Za-z0-9_-].</summary>
    public static string BadRequestId(Random random) => random.Next(9) switch
    {
        0 => "has space",
        1 => new string('r', 65),
        2 => new string('r', random.Next(100, 50_000)),
        3 => "héllo",
        4 => "req#2",
        5 => "../../etc/passwd",
        6 => "nul\0",
        7 => "😀",
        _ => "a.b",
    };

    /// <summary>Valid but awkward text of up to a few hundred characters.</summary>
    public static string OddText(Random random)
    {
        var builder = new StringBuilder();
        for (var i = random.Next(1, 8); i > 0; i--)
        {
            builder.Append(OddPieces[random.Next(OddPieces.Length)]).Append(' ');
        }

        return builder.ToString().Trim() is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text) ? text : "odd";
    }

    /// <summary>A valid chat title: awkward text without control characters, at most 200 characters.</summary>
    public static string OddTitle(Random random)
    {
        // Odd but valid: no controls, separators or format characters but the joiners, at most 200 code points.
        var kept = OddText(random).EnumerateRunes()
            .Where(r => Rune.GetUnicodeCategory(r) switch
            {
                System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.LineSeparator
                    or System.Globalization.UnicodeCategory.ParagraphSeparator => false,
                System.Globalization.UnicodeCategory.Format => r.Value is 0x200C or 0x200D,
                _ => true,
            })
            .Take(200);
        return string.Concat(kept.Select(r => r.ToString()));
    }

    /// <summary>Blank text: empty or whitespace only (as .NET defines it).</summary>
    public static string Blank(Random random) => random.Next(5) switch
    {
        0 => "",
        1 => " ",
        2 => "\t\r\n",
        3 => "\u00a0\u2003\u3000",
        _ => new string(' ', random.Next(1, 9000)),
    };

    /// <summary>Text over <paramref name="maxBytes"/> bytes of UTF-8, carrying <paramref name="marker"/>.</summary>
    public static string Oversized(Random random, int maxBytes, string marker)
    {
        var unit = random.Next(4) switch { 0 => "a", 1 => "é", 2 => "日", _ => "😀" };
        var bytes = Encoding.UTF8.GetByteCount(unit);
        var count = (maxBytes / bytes) + 1 + random.Next(0, random.Next(2) == 0 ? 3 : 1000);
        return marker + " " + string.Concat(Enumerable.Repeat(unit, count));
    }

    /// <summary>Random bytes, as a body that claims to be a request message.</summary>
    public static byte[] Bytes(Random random, int min, int max)
    {
        var bytes = new byte[random.Next(min, max)];
        random.NextBytes(bytes);
        return bytes;
    }
}
