using ChatService.Chats;

namespace ChatService.Cards;

/// <summary>
/// What is exported imports again, near the limits too: a character is kept from a card only when
/// each of its exports (JSON in either spec, a V2 PNG, a V3 PNG) is a card an import takes. The
/// card itself was within them, but an export can be larger: a V3 PNG carries the card and a V2 copy
/// of it, both in base64; characters outside the Basic Multilingual Plane are escaped (12 bytes
/// rather than 4); a picture of 4,095 chunks gets two more. The exports are measured, not written.
/// </summary>
/// <remarks>
/// An export shows the character's current definition, so a change to one (an update) must pass
/// the same check.
/// </remarks>
internal static class ExportBounds
{
    /// <summary>
    /// INVALID_ARGUMENT naming <paramref name="field"/> when an export of the character, with the rest of
    /// the card it came from (<paramref name="outline"/>) and its <paramref name="picture"/> (null: none
    /// of either), would not import.
    /// </summary>
    public static void Check(Character character, string? outline, byte[]? picture, string field)
    {
        var withPicture = picture is null ? "" : " with its picture";
        var v2 = CardWriter.Size(character, outline, CardFormat.V2);
        var v3 = CardWriter.Size(character, outline, CardFormat.V3);
        var copy = CardWriter.Size(character, outline, CardFormat.V2, v2Copy: true);
        var json = Math.Max(v2, Math.Max(v3, copy));
        if (json > CardLimits.MaxJsonBytes)
        {
            throw Refused(field, withPicture, $"its export as JSON would be {json} bytes, and an import takes at most {CardLimits.MaxJsonBytes}");
        }

        // The largest PNG export is the V3 one: the picture (or the placeholder) with a ccv3 and a chara chunk.
        var png = (picture ?? PngWriter.WithCards(null, [])).Length
            + PngWriter.CardChunkSize(PngCardReader.V3Keyword, v3) + PngWriter.CardChunkSize(PngCardReader.V2Keyword, copy);
        if (png > CardLimits.MaxPngBytes)
        {
            throw Refused(field, withPicture, $"a V3 PNG export ({(picture is null ? "a 1x1 placeholder" : "the picture")}, the card and its V2 copy) " +
                $"would be {png} bytes, and an import takes at most {CardLimits.MaxPngBytes}");
        }

        var chunks = PngFile.Chunks(picture ?? PngWriter.WithCards(null, [])).Count + 2;
        if (chunks > CardLimits.MaxPngChunks)
        {
            throw Refused(field, withPicture, $"a V3 PNG export would have {chunks} chunks (the picture's and two card chunks), and an import takes at most {CardLimits.MaxPngChunks}");
        }
    }

    private static ChatException Refused(string field, string withPicture, string problem) =>
        CardErrors.Invalid(field, $"the card cannot be kept{withPicture}: {problem}; what is exported must import again");
}
