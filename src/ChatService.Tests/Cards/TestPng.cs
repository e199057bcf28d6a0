using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ChatService.Cards;

namespace ChatService.Tests.Cards;

/// <summary>Builds PNG files chunk by chunk for tests, broken ones included (any length, CRC or order).</summary>
internal static class TestPng
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A chunk; <paramref name="crc"/> and <paramref name="length"/> override the right values.</summary>
    public static byte[] Chunk(string type, byte[] data, uint? crc = null, uint? length = null)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteUInt32BigEndian(chunk, length ?? (uint)data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), crc ?? Crc32.Compute(Encoding.ASCII.GetBytes(type), data));
        return chunk;
    }

    public static byte[] Header(uint width = 2, uint height = 2, byte depth = 8, byte color = 2, int size = 13)
    {
        var data = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(data, width);
        BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(4), height);
        data[8] = depth;
        data[9] = color;
        return Chunk("IHDR", size <= 13 ? data[..size] : [.. data, .. new byte[size - 13]]);
    }

    /// <summary>Image data: 2x2 RGB pixels (each row a filter byte and 6 bytes), deflated.</summary>
    public static byte[] Pixels() => Chunk("IDAT", Deflate([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]));

    public static byte[] End() => Chunk("IEND", []);

    public static byte[] Text(string keyword, string text) => Chunk("tEXt", [.. Encoding.Latin1.GetBytes(keyword), 0, .. Encoding.Latin1.GetBytes(text)]);

    /// <summary>A tEXt chunk carrying <paramref name="json"/> as the specs say: UTF-8, base64.</summary>
    public static byte[] Card(string json, string keyword = "chara") => Text(keyword, Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));

    public static byte[] CompressedCard(string json, string keyword = "chara") =>
        Chunk("zTXt", [.. Encoding.Latin1.GetBytes(keyword), 0, 0, .. Deflate(Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(json))))]);

    public static byte[] InternationalCard(string json, bool compressed, string keyword = "ccv3")
    {
        var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(Encoding.UTF8.GetBytes(json)));
        return Chunk("iTXt", [.. Encoding.Latin1.GetBytes(keyword), 0, compressed ? (byte)1 : (byte)0, 0, .. "en"u8, 0, 0, .. compressed ? Deflate(text) : text]);
    }

    /// <summary>A PNG: the signature, a 2x2 header, then <paramref name="middle"/>, image data and IEND.</summary>
    public static byte[] With(params byte[][] middle) => [.. Signature, .. Header(), .. middle.SelectMany(c => c), .. Pixels(), .. End()];

    /// <summary>The signature and exactly these chunks.</summary>
    public static byte[] Raw(params byte[][] chunks) => [.. Signature, .. chunks.SelectMany(c => c)];

    /// <summary>Every chunk of a PNG as it is (type, data and all its bytes), without any of the service's checks or limits.</summary>
    public static List<(string Type, byte[] Data, byte[] Bytes)> ChunksOf(byte[] png)
    {
        var chunks = new List<(string, byte[], byte[])>();
        for (var at = Signature.Length; at < png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            chunks.Add((Encoding.ASCII.GetString(png, at + 4, 4), png[(at + 8)..(at + 8 + length)], png[at..(at + 12 + length)]));
            at += 12 + length;
        }

        return chunks;
    }

    /// <summary>The keyword and text of a tEXt chunk's data.</summary>
    public static (string Keyword, string Text) TextOf(byte[] data) =>
        (Encoding.Latin1.GetString(data, 0, Array.IndexOf(data, (byte)0)), Encoding.Latin1.GetString(data, Array.IndexOf(data, (byte)0) + 1, data.Length - Array.IndexOf(data, (byte)0) - 1));

    public static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.SmallestSize))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>
    /// zlib data whose header sets FDICT (0x78 0x20: deflate, a preset dictionary), then the
    /// dictionary's id and a few bytes of a deflate block: it cannot be inflated without that dictionary.
    /// </summary>
    public static byte[] PresetDictionaryZlib => [0x78, 0x20, 0x00, 0x00, 0x00, 0x01, 0x4B, 0x04, 0x00];

    /// <summary>zlib data that inflates to <paramref name="bytes"/> zero bytes (about 1,000 to 1).</summary>
    public static byte[] ZeroBomb(long bytes)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal))
        {
            var zeros = new byte[1024 * 1024];
            for (long written = 0; written < bytes; written += zeros.Length)
            {
                zlib.Write(zeros, 0, (int)Math.Min(zeros.Length, bytes - written));
            }
        }

        return output.ToArray();
    }
}
