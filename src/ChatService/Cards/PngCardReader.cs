using System.Buffers.Text;
using System.IO.Compression;

namespace ChatService.Cards;

/// <summary>
/// Finds the card a PNG carries: base64 of its JSON in a text chunk named <c>ccv3</c> (V3) or
/// <c>chara</c> (V2), <c>ccv3</c> winning when both are there (the first chunk of each name
/// counts). Usually a tEXt chunk; a compressed one (zTXt, or iTXt with its compression flag) is
/// inflated to at most <see cref="CardLimits.MaxInflatedChunkBytes"/>, so a zip bomb stops there.
/// Other chunks, compressed text and image data included, are never inflated.
/// </summary>
internal static class PngCardReader
{
    public const string V3Keyword = "ccv3";
    public const string V2Keyword = "chara";

    /// <summary>The card's JSON (UTF-8) in <paramref name="png"/>.</summary>
    public static byte[] ReadCardJson(byte[] png)
    {
        ReadOnlyMemory<byte>? v3 = null, v2 = null;
        foreach (var chunk in PngFile.Chunks(png).Where(c => c.IsText))
        {
            var data = png.AsMemory(chunk.DataOffset, chunk.DataLength);
            var keywordEnd = data.Span[..Math.Min(data.Length, 80)].IndexOf((byte)0);
            var keyword = keywordEnd < 0 ? null : System.Text.Encoding.Latin1.GetString(data.Span[..keywordEnd]);
            if (keyword == V3Keyword && v3 is null)
            {
                v3 = Text(chunk, keyword, data[(keywordEnd + 1)..]);
            }
            else if (keyword == V2Keyword && v2 is null)
            {
                v2 = Text(chunk, keyword, data[(keywordEnd + 1)..]);
            }
        }

        var (name, text) = v3 is { } found ? (V3Keyword, found) : v2 is { } legacy ? (V2Keyword, legacy)
            : throw PngFile.Invalid($"the PNG carries no character card: it has no text chunk named {V3Keyword} or {V2Keyword}");
        if (!Base64.IsValid(text.Span, out var length))
        {
            throw PngFile.Invalid($"the {name} chunk is not base64");
        }

        if (length > CardLimits.MaxJsonBytes)
        {
            throw PngFile.Invalid($"the {name} chunk holds {length} bytes of JSON; the limit is {CardLimits.MaxJsonBytes}");
        }

        var json = new byte[length];
        Base64.DecodeFromUtf8(text.Span, json, out _, out var written);
        return written == length ? json : json[..written];
    }

    /// <summary>The text of a card chunk, after its keyword and its NUL.</summary>
    private static ReadOnlyMemory<byte> Text(PngChunk chunk, string keyword, ReadOnlyMemory<byte> rest)
    {
        switch (chunk.Type)
        {
            case "tEXt":
                return rest;
            case "zTXt":
                return rest.Length > 0 && rest.Span[0] == 0 ? Inflate(rest[1..], keyword) : throw Malformed(chunk, keyword);
            default:
                // iTXt: compression flag, compression method, language tag + NUL, translated keyword + NUL, text.
                if (rest.Length < 2 || rest.Span[0] > 1 || rest.Span[1] != 0)
                {
                    throw Malformed(chunk, keyword);
                }

                var text = rest[2..];
                for (var i = 0; i < 2; i++)
                {
                    var nul = text.Span.IndexOf((byte)0);
                    text = nul >= 0 ? text[(nul + 1)..] : throw Malformed(chunk, keyword);
                }

                return rest.Span[0] == 1 ? Inflate(text, keyword) : text;
        }
    }

    /// <summary>
    /// zlib data inflated, stopping with INVALID_ARGUMENT once more than the limit comes out. Data
    /// that is not zlib, or asks for a preset dictionary (FDICT, bit 5 of the header's second byte),
    /// which PNG forbids and nothing here could supply, is INVALID_ARGUMENT as well.
    /// </summary>
    private static ReadOnlyMemory<byte> Inflate(ReadOnlyMemory<byte> compressed, string keyword)
    {
        if (compressed.Length >= 2 && (compressed.Span[1] & 0x20) != 0)
        {
            throw PngFile.Invalid($"the compressed {keyword} chunk asks for a preset dictionary, which PNG does not allow");
        }

        using var input = new MemoryStream(compressed.ToArray(), writable: false);
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = zlib.Read(buffer)) > 0)
            {
                if (output.Length + read > CardLimits.MaxInflatedChunkBytes)
                {
                    throw PngFile.Invalid($"the compressed {keyword} chunk inflates to more than {CardLimits.MaxInflatedChunkBytes} bytes");
                }

                output.Write(buffer, 0, read);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // IOException: the errors zlib itself reports (ZLibException).
            throw PngFile.Invalid($"the compressed {keyword} chunk is not valid zlib data");
        }

        return output.GetBuffer().AsMemory(0, (int)output.Length);
    }

    private static Chats.ChatException Malformed(PngChunk chunk, string keyword) =>
        PngFile.Invalid($"the {chunk.Type} chunk {keyword} at byte {chunk.Start} is malformed");
}
