using System.Buffers.Binary;
using System.Text;

namespace ChatService.Cards;

/// <summary>
/// Walks a PNG's chunks without decoding its picture, so its dimensions and compressed data cost
/// nothing: the signature, then chunks from an IHDR that describes a PNG image to IEND, each within
/// the file, of a valid type and with the right CRC, at most <see cref="CardLimits.MaxPngChunks"/>
/// of them, with image data and no critical chunk PNG does not define. Bytes after IEND are
/// ignored. Anything else is INVALID_ARGUMENT naming <c>png</c>.
/// </summary>
internal static class PngFile
{
    public const string Field = "png";

    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private static readonly string[] CriticalTypes = ["IHDR", "PLTE", "IDAT", "IEND"];

    /// <summary>The chunks of <paramref name="png"/>, IHDR first and IEND last.</summary>
    public static List<PngChunk> Chunks(ReadOnlySpan<byte> png)
    {
        if (png.Length > CardLimits.MaxPngBytes)
        {
            throw Invalid($"the PNG is {png.Length} bytes; the limit is {CardLimits.MaxPngBytes}");
        }

        if (!png.StartsWith(Signature))
        {
            throw Invalid("the bytes are not a PNG (they do not start with the PNG signature)");
        }

        var chunks = new List<PngChunk>();
        var at = Signature.Length;
        while (true)
        {
            if (chunks.Count == CardLimits.MaxPngChunks)
            {
                throw Invalid($"the PNG has more than {CardLimits.MaxPngChunks} chunks");
            }

            var chunk = ReadChunk(png, at, chunks.Count);
            if (chunks.Count == 0)
            {
                CheckHeader(chunk, png);
            }
            else if (chunk.Type == "IHDR")
            {
                throw Invalid($"chunk {chunks.Count} is a second IHDR");
            }
            else if (char.IsAsciiLetterUpper(chunk.Type[0]) && !CriticalTypes.Contains(chunk.Type))
            {
                throw Invalid($"chunk {chunks.Count} is of type {chunk.Type}, a critical chunk PNG does not define");
            }

            chunks.Add(chunk);
            at = chunk.End;
            if (chunk.Type == "IEND")
            {
                break;
            }
        }

        if (!chunks.Exists(c => c.Type == "IDAT"))
        {
            throw Invalid("the PNG has no image data (IDAT chunk)");
        }

        return chunks;
    }

    private static PngChunk ReadChunk(ReadOnlySpan<byte> png, int at, int index)
    {
        if (png.Length - at < PngChunk.Overhead)
        {
            throw Invalid(at == png.Length
                ? "the PNG is truncated: it ends without an IEND chunk"
                : $"the PNG is truncated: chunk {index} at byte {at} has {png.Length - at} bytes, less than a chunk's 12");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(png[at..]);
        var typeBytes = png.Slice(at + 4, 4);
        foreach (var b in typeBytes)
        {
            if (!char.IsAsciiLetter((char)b))
            {
                throw Invalid($"chunk {index} at byte {at} has a type that is not 4 ASCII letters");
            }
        }

        var type = Encoding.ASCII.GetString(typeBytes);
        if (length > (uint)(png.Length - at - PngChunk.Overhead))
        {
            throw Invalid($"the PNG is truncated: chunk {index} ({type}) at byte {at} announces {length} bytes of data; {png.Length - at - PngChunk.Overhead} remain");
        }

        var chunk = new PngChunk(type, at, (int)length);
        var stored = BinaryPrimitives.ReadUInt32BigEndian(png[(chunk.End - 4)..]);
        if (Crc32.Compute(typeBytes, png.Slice(chunk.DataOffset, chunk.DataLength)) != stored)
        {
            throw Invalid($"chunk {index} ({type}) at byte {at} has a wrong CRC");
        }

        return chunk;
    }

    /// <summary>IHDR: 13 bytes of width and height (1..2^31-1), a bit depth the color type allows, and the only compression and filter methods PNG has.</summary>
    private static void CheckHeader(PngChunk chunk, ReadOnlySpan<byte> png)
    {
        if (chunk.Type != "IHDR" || chunk.DataLength != 13)
        {
            throw Invalid(chunk.Type == "IHDR" ? $"the IHDR chunk has {chunk.DataLength} bytes, not 13" : $"the PNG starts with a {chunk.Type} chunk, not IHDR");
        }

        var header = png.Slice(chunk.DataOffset, 13);
        var width = BinaryPrimitives.ReadUInt32BigEndian(header);
        var height = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (width is 0 or > int.MaxValue || height is 0 or > int.MaxValue)
        {
            throw Invalid($"the IHDR chunk gives the image {width}x{height} pixels; each side must be 1..{int.MaxValue}");
        }

        var (depth, color) = (header[8], header[9]);
        var depthAllowed = color switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (!depthAllowed || header[10] != 0 || header[11] != 0 || header[12] > 1)
        {
            throw Invalid($"the IHDR chunk is invalid: bit depth {depth}, color type {color}, compression {header[10]}, filter {header[11]}, interlace {header[12]}");
        }
    }

    public static Chats.ChatException Invalid(string problem) => CardErrors.Invalid(Field, problem);
}
