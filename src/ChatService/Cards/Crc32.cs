namespace ChatService.Cards;

/// <summary>The CRC-32 of PNG chunks (ISO 3309: polynomial 0xEDB88320, reflected, starting from and finished with all ones).</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The CRC of <paramref name="first"/> followed by <paramref name="second"/> (a chunk's type, then its data).</summary>
    public static uint Compute(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        var crc = Update(0xFFFFFFFFu, first);
        return ~Update(crc, second);
    }

    private static uint Update(uint crc, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
