using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO.Compression;
using System.Text;

namespace ChatService.Cards;

/// <summary>
/// Writes a PNG carrying cards: the picture a card came in with its card chunks replaced (every
/// other chunk copied byte for byte), or a 1x1 transparent placeholder made here.
/// </summary>
internal static class PngWriter
{
    /// <summary>
    /// <paramref name="picture"/> (or the placeholder when null) with a tEXt chunk for each of
    /// <paramref name="cards"/> (keyword, card JSON), just before IEND; card chunks it had
    /// (<c>ccv3</c>, <c>chara</c>, in any text chunk) are left out.
    /// </summary>
    public static byte[] WithCards(byte[]? picture, IReadOnlyList<(string Keyword, string Json)> cards)
    {
        using var output = new MemoryStream();
        output.Write(PngFile.Signature);
        if (picture is null)
        {
            WritePlaceholderImage(output);
        }
        else
        {
            foreach (var chunk in PngFile.Chunks(picture).Where(c => c.Type != "IEND" && !IsCardText(picture, c)))
            {
                output.Write(picture, chunk.Start, chunk.End - chunk.Start);
            }
        }

        foreach (var (keyword, json) in cards)
        {
            var utf8 = Encoding.UTF8.GetBytes(json);
            var data = new byte[keyword.Length + 1 + Base64.GetMaxEncodedToUtf8Length(utf8.Length)];
            Encoding.ASCII.GetBytes(keyword, data);
            Base64.EncodeToUtf8(utf8, data.AsSpan(keyword.Length + 1), out _, out var written);
            WriteChunk(output, "tEXt", data.AsSpan(0, keyword.Length + 1 + written));
        }

        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>The bytes <see cref="WithCards"/> adds for a card of <paramref name="jsonBytes"/> UTF-8 bytes: a tEXt chunk of the keyword, a NUL and base64.</summary>
    public static long CardChunkSize(string keyword, long jsonBytes) => PngChunk.Overhead + keyword.Length + 1 + (jsonBytes + 2) / 3 * 4;

    /// <summary>One transparent RGBA pixel: IHDR, and IDAT with its one scanline (filter 0, then four zero bytes) deflated.</summary>
    private static void WritePlaceholderImage(MemoryStream output)
    {
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(header, 1);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], 1);
        header[8] = 8; // bits per sample
        header[9] = 6; // RGBA; compression, filter and interlace methods stay 0
        WriteChunk(output, "IHDR", header);

        using var pixels = new MemoryStream();
        using (var zlib = new ZLibStream(pixels, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            zlib.Write([0, 0, 0, 0, 0]);
        }

        WriteChunk(output, "IDAT", pixels.ToArray());
    }

    private static void WriteChunk(MemoryStream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> field = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(field, (uint)data.Length);
        output.Write(field);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        output.Write(typeBytes);
        output.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(field, Crc32.Compute(typeBytes, data));
        output.Write(field);
    }

    private static bool IsCardText(byte[] png, PngChunk chunk)
    {
        if (!chunk.IsText)
        {
            return false;
        }

        var data = png.AsSpan(chunk.DataOffset, chunk.DataLength);
        var nul = data.IndexOf((byte)0);
        var keyword = nul < 0 ? data : data[..nul];
        return keyword.SequenceEqual("ccv3"u8) || keyword.SequenceEqual("chara"u8);
    }
}
