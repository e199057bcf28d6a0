using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

public sealed class PngCardTests
{
    /// <summary>Far beyond what a refused or accepted PNG may cost; the PNGs here are at most 8 MiB.</summary>
    private const long MaxAllocatedBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Far beyond what reading any of these PNGs takes (well under a second): only work that grows with more
    /// than the input's size would pass it; not a speed target, which a loaded CI machine could miss.
    /// </summary>
    private static readonly TimeSpan MaxTime = TimeSpan.FromSeconds(30);

    private static readonly string V2Json = CardFixtures.V2;
    private static readonly string V3Json = CardFixtures.V3;

    /// <summary>A 1x1 transparent PNG made by another encoder: its CRCs were not computed here.</summary>
    private const string PngMadeElsewhere = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    [Fact]
    public void Crc32_OfTheCheckString_IsCrc32sCheckValue_HoweverItIsSplit()
    {
        var check = "123456789"u8.ToArray();

        for (var split = 0; split <= check.Length; split++)
        {
            Assert.Equal(0xCBF43926u, Crc32.Compute(check.AsSpan(0, split), check.AsSpan(split)));
        }
    }

    [Fact]
    public void Crc32_OfRealPngChunks_IsTheCrcTheyCarry()
    {
        var png = Convert.FromBase64String(PngMadeElsewhere);

        // Every PNG ends with IEND, whose CRC is AE 42 60 82; the IHDR of a 1x1 RGBA picture carries 1F 15 C4 89.
        Assert.Equal(0xAE426082u, Crc32.Compute("IEND"u8, []));
        Assert.Equal(0x1F15C489u, Crc32.Compute("IHDR"u8, [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]));
        Assert.Equal(new[] { "IHDR", "IDAT", "IEND" }, PngFile.Chunks(png).Select(c => c.Type));
    }

    [Fact]
    public void CharaTextChunk_CarriesAV2Card()
    {
        var json = ReadWithinBounds(TestPng.With(TestPng.Text("Software", "paint"), TestPng.Card(V2Json)));

        Assert.Equal(V2Json, Encoding.UTF8.GetString(json));
    }

    [Fact]
    public void Ccv3Chunk_WinsOverChara_WhereverItIs()
    {
        var json = ReadWithinBounds(TestPng.With(TestPng.Card(V2Json, "chara"), TestPng.Card(V3Json, "ccv3")));

        Assert.Equal(V3Json, Encoding.UTF8.GetString(json));
    }

    [Theory]
    [InlineData("zTXt")]
    [InlineData("iTXt")]
    [InlineData("iTXt-compressed")]
    public void CompressedOrInternationalTextChunks_CarryCardsToo(string kind)
    {
        var chunk = kind switch
        {
            "zTXt" => TestPng.CompressedCard(V3Json, "ccv3"),
            "iTXt" => TestPng.InternationalCard(V3Json, compressed: false),
            _ => TestPng.InternationalCard(V3Json, compressed: true),
        };

        Assert.Equal(V3Json, Encoding.UTF8.GetString(ReadWithinBounds(TestPng.With(chunk))));
    }

    [Fact]
    public void HugeDimensionsAndAnImageDataBomb_CostNothing_TheImageIsNeverDecoded()
    {
        var png = TestPng.Raw(
            TestPng.Header(width: int.MaxValue, height: int.MaxValue, depth: 16, color: 6),
            TestPng.Card(V2Json),
            TestPng.Chunk("IDAT", TestPng.ZeroBomb(256L << 20)),
            TestPng.End());

        Assert.Equal(V2Json, Encoding.UTF8.GetString(ReadWithinBounds(png)));
    }

    public static TheoryData<string, string> HostilePngs => new()
    {
        { "not-a-png", "the bytes are not a PNG" },
        { "empty-after-signature", "the PNG is truncated: it ends without an IEND chunk" },
        { "truncated-in-a-chunk", "the PNG is truncated" },
        { "no-iend", "the PNG is truncated: it ends without an IEND chunk" },
        { "wrong-crc", "has a wrong CRC" },
        { "no-ihdr", "the PNG starts with a tEXt chunk, not IHDR" },
        { "short-ihdr", "the IHDR chunk has 12 bytes, not 13" },
        { "zero-width", "each side must be 1.." },
        { "height-over-2^31", "each side must be 1.." },
        { "bad-bit-depth", "the IHDR chunk is invalid: bit depth 3" },
        { "second-ihdr", "is a second IHDR" },
        { "unknown-critical-chunk", "a critical chunk PNG does not define" },
        { "bad-chunk-type", "a type that is not 4 ASCII letters" },
        { "length-past-end", "announces 2147483647 bytes of data" },
        { "length-4gib", "announces 4294967295 bytes of data" },
        { "no-image-data", "the PNG has no image data" },
        { "ten-thousand-chunks", "more than 4096 chunks" },
        { "no-card", "the PNG carries no character card" },
        { "card-not-base64", "the chara chunk is not base64" },
        { "zip-bomb-card", "the compressed ccv3 chunk inflates to more than" },
        { "card-not-zlib", "the compressed chara chunk is not valid zlib data" },
        { "card-needs-a-dictionary", "the compressed chara chunk asks for a preset dictionary" },
        { "itxt-needs-a-dictionary", "the compressed ccv3 chunk asks for a preset dictionary" },
        { "malformed-itxt", "the iTXt chunk ccv3 at byte" },
        { "card-json-too-large", "bytes of JSON; the limit is" },
        { "over-8-mib", "the PNG is 8388609 bytes; the limit is 8388608" },
    };

    [Theory]
    [MemberData(nameof(HostilePngs))]
    public void HostilePng_IsInvalidArgumentNamingPng_WithinBoundedMemoryAndTime(string kind, string message)
    {
        var png = Hostile(kind);

        var ex = Assert.Throws<ChatException>(() => ReadWithinBounds(png));

        Assert.Equal(ChatErrorKind.InvalidArgument, ex.Kind);
        Assert.Equal("png", ex.Field);
        Assert.StartsWith("png: ", ex.Message);
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Placeholder_IsAValid1x1Png_CarryingTheCards()
    {
        var png = PngWriter.WithCards(null, [("ccv3", V3Json), ("chara", V2Json)]);

        var chunks = PngFile.Chunks(png);
        Assert.Equal(new[] { "IHDR", "IDAT", "tEXt", "tEXt", "IEND" }, chunks.Select(c => c.Type));
        Assert.Equal(new byte[] { 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0 }, png.AsSpan(chunks[0].DataOffset, 13).ToArray());
        using var pixels = new ZLibStream(new MemoryStream(png, chunks[1].DataOffset, chunks[1].DataLength), CompressionMode.Decompress);
        var scanline = new byte[16];
        Assert.Equal(5, pixels.ReadAtLeast(scanline, 16, throwOnEndOfStream: false));
        Assert.Equal(V3Json, Encoding.UTF8.GetString(PngCardReader.ReadCardJson(png)));
    }

    [Fact]
    public void Picture_KeepsEveryOtherChunkByteForByte_AndGetsNewCardChunks()
    {
        byte[][] kept = [TestPng.Header(), TestPng.Text("Comment", "drawn by hand"), TestPng.Chunk("pHYs", new byte[9]), TestPng.Pixels()];
        var picture = TestPng.Raw([.. kept.Take(2), TestPng.Card("old", "chara"), TestPng.CompressedCard("old", "ccv3"), .. kept.Skip(2), TestPng.End()]);

        var png = PngWriter.WithCards(picture, [("chara", V2Json)]);

        Assert.Equal(TestPng.Raw([.. kept, TestPng.Card(V2Json), TestPng.End()]), png);
    }

    private static byte[] ReadWithinBounds(byte[] png)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            return PngCardReader.ReadCardJson(png);
        }
        finally
        {
            var cost = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Assert.True(cost < MaxAllocatedBytes, $"reading allocated {cost} bytes");
            Assert.True(clock.Elapsed < MaxTime, $"reading took {clock.Elapsed}");
        }
    }

    private static byte[] Hostile(string kind)
    {
        var good = TestPng.With(TestPng.Card(V2Json));
        return kind switch
        {
            "not-a-png" => Encoding.UTF8.GetBytes(V2Json),
            "empty-after-signature" => TestPng.Signature,
            "truncated-in-a-chunk" => good[..(good.Length / 2)],
            "no-iend" => good[..^12],
            "wrong-crc" => TestPng.With(TestPng.Chunk("tEXt", "a\0b"u8.ToArray(), crc: 12345), TestPng.Card(V2Json)),
            "no-ihdr" => TestPng.Raw(TestPng.Card(V2Json), TestPng.Pixels(), TestPng.End()),
            "short-ihdr" => TestPng.Raw(TestPng.Header(size: 12), TestPng.Card(V2Json), TestPng.Pixels(), TestPng.End()),
            "zero-width" => TestPng.Raw(TestPng.Header(width: 0), TestPng.Card(V2Json), TestPng.Pixels(), TestPng.End()),
            "height-over-2^31" => TestPng.Raw(TestPng.Header(height: 1u << 31), TestPng.Card(V2Json), TestPng.Pixels(), TestPng.End()),
            "bad-bit-depth" => TestPng.Raw(TestPng.Header(depth: 3), TestPng.Card(V2Json), TestPng.Pixels(), TestPng.End()),
            "second-ihdr" => TestPng.With(TestPng.Header(), TestPng.Card(V2Json)),
            "unknown-critical-chunk" => TestPng.With(TestPng.Chunk("ABCD", [1, 2, 3]), TestPng.Card(V2Json)),
            "bad-chunk-type" => TestPng.With(TestPng.Chunk("tE1t", [1, 2, 3]), TestPng.Card(V2Json)),
            "length-past-end" => TestPng.With(TestPng.Chunk("tEXt", [1, 2, 3], length: int.MaxValue)),
            "length-4gib" => TestPng.With(TestPng.Chunk("tEXt", [1, 2, 3], length: uint.MaxValue)),
            "no-image-data" => TestPng.Raw(TestPng.Header(), TestPng.Card(V2Json), TestPng.End()),
            "ten-thousand-chunks" => TestPng.With([.. Enumerable.Repeat(TestPng.Chunk("tIny", []), 10_000), TestPng.Card(V2Json)]),
            "no-card" => TestPng.With(TestPng.Text("Software", "paint"), TestPng.Card(V2Json, "charb")),
            "card-not-base64" => TestPng.With(TestPng.Text("chara", "{\"spec\": \"not base64\"}")),
            "zip-bomb-card" => TestPng.With(TestPng.Chunk("zTXt", [.. "ccv3"u8, 0, 0, .. TestPng.ZeroBomb(64L << 20)])),
            "card-not-zlib" => TestPng.With(TestPng.Chunk("zTXt", [.. "chara"u8, 0, 0, 1, 2, 3, 4, 5])),
            // zlib's header with FDICT set, then a dictionary id: inflating it wants a dictionary PNG never gives.
            "card-needs-a-dictionary" => TestPng.With(TestPng.Chunk("zTXt", [.. "chara"u8, 0, 0, .. TestPng.PresetDictionaryZlib])),
            "itxt-needs-a-dictionary" => TestPng.With(TestPng.Chunk("iTXt", [.. "ccv3"u8, 0, 1, 0, .. "en"u8, 0, 0, .. TestPng.PresetDictionaryZlib])),
            "malformed-itxt" => TestPng.With(TestPng.Chunk("iTXt", [.. "ccv3"u8, 0, 0, 0, .. "en"u8])),
            "card-json-too-large" => TestPng.With(TestPng.Text("chara", new string('A', CardLimits.MaxJsonBytes / 3 * 4 + 8))),
            _ => [.. TestPng.With(TestPng.Card(V2Json)), .. new byte[CardLimits.MaxPngBytes + 1 - good.Length]],
        };
    }
}
