using System.Text;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Tests.Cards;

/// <summary>A card is kept only when every export of it imports again: at the limits exactly, and one past them.</summary>
public sealed class ExportBoundsTests
{
    private static readonly CharacterCard Card = CardReader.Read(CardFixtures.V2, "json");

    private static readonly Character Character = Card.ToCharacter(Ids.New(), "owner", "default", CharacterVisibility.Private);

    [Fact]
    public void PictureWhoseV3PngExportIsExactly8MiB_IsKept_AndThatPngImports_OneByteMoreIsRefused()
    {
        var v3 = CardWriter.Write(Character, Card.Kept, CardFormat.V3);
        var copy = CardWriter.Write(Character, Card.Kept, CardFormat.V2, v2Copy: true);
        var room = CardLimits.MaxPngBytes - CardChunk("ccv3", v3) - CardChunk("chara", copy);

        ExportBounds.Check(Character, Card.Kept, PictureOf(room), "png");
        var png = PngWriter.WithCards(PictureOf(room), [("ccv3", v3), ("chara", copy)]);
        var ex = Assert.Throws<ChatException>(() => ExportBounds.Check(Character, Card.Kept, PictureOf(room + 1), "png"));

        Assert.Equal(CardLimits.MaxPngBytes, png.Length);
        Assert.Equal(v3, Encoding.UTF8.GetString(PngCardReader.ReadCardJson(png)));
        Assert.Equal("png", ex.Field);
        Assert.StartsWith($"png: the card cannot be kept with its picture: a V3 PNG export (the picture, the card and its V2 copy) would be {CardLimits.MaxPngBytes + 1} bytes, " +
            $"and an import takes at most {CardLimits.MaxPngBytes}; what is exported must import again", ex.Message);
    }

    [Fact]
    public void PictureOf4094Chunks_IsKept_AndItsV3PngOf4096Imports_4095AreRefused()
    {
        byte[] Picture(int chunks) => TestPng.With([.. Enumerable.Repeat(TestPng.Chunk("tIny", []), chunks - 3)]);

        ExportBounds.Check(Character, Card.Kept, Picture(CardLimits.MaxPngChunks - 2), "png");
        var png = PngWriter.WithCards(Picture(CardLimits.MaxPngChunks - 2), [("ccv3", "{}"), ("chara", CardFixtures.V2)]);
        var ex = Assert.Throws<ChatException>(() => ExportBounds.Check(Character, Card.Kept, Picture(CardLimits.MaxPngChunks - 1), "png"));

        Assert.Equal(CardLimits.MaxPngChunks, PngFile.Chunks(png).Count);
        Assert.Contains($"would have {CardLimits.MaxPngChunks + 1} chunks", ex.Message);
    }

    [Theory]
    [InlineData(300_000, "json: the card cannot be kept: a V3 PNG export (a 1x1 placeholder, the card and its V2 copy) would be")]
    [InlineData(400_000, "json: the card cannot be kept: its export as JSON would be")]
    public void CardWhoseExportGrowsPastTheLimits_IsRefused(int emoji, string message)
    {
        // 4 bytes each as they came, 12 as exported (an escape pair): a card within its limits can
        // export as more than an import takes when options allow long enough texts.
        var character = Character with { CreatorNotes = string.Concat(Enumerable.Repeat("\U0001F600", emoji)) };

        var ex = Assert.Throws<ChatException>(() => ExportBounds.Check(character, Card.Kept, null, "json"));

        Assert.StartsWith(message, ex.Message);
    }

    private static long CardChunk(string keyword, string json) => 12 + keyword.Length + 1 + Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).Length;

    /// <summary>A picture without card chunks of exactly <paramref name="size"/> bytes, padded with an ancillary chunk.</summary>
    private static byte[] PictureOf(long size) => TestPng.With(TestPng.Chunk("fiLl", new byte[size - TestPng.With().Length - 12]));
}
