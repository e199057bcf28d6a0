namespace ChatService.Cards;

/// <summary>
/// How much of a card this service reads. A card's text fields are bounded like CreateCharacter's
/// (see RequestValidator); these bound the containers, so that a hostile card costs bounded memory
/// and time before any of it is looked at.
/// </summary>
public static class CardLimits
{
    /// <summary>The largest PNG a card may come in (the picture is stored for the card's export).</summary>
    public const int MaxPngBytes = 8 * 1024 * 1024;

    /// <summary>The most chunks a PNG may have: a picture of 8 MiB in libpng's 8 KiB IDAT chunks has about 1,000.</summary>
    public const int MaxPngChunks = 4096;

    /// <summary>The largest card JSON, in UTF-8 bytes: the request's <c>json</c>, or what a PNG's card chunk decodes to.</summary>
    public const int MaxJsonBytes = 4 * 1024 * 1024;

    /// <summary>The most a compressed (zTXt, iTXt) card chunk may inflate to: its base64 text, with room for line breaks.</summary>
    public const int MaxInflatedChunkBytes = 2 * MaxJsonBytes;

    /// <summary>
    /// The most JSON (UTF-8 bytes) kept as it is for the export: extensions, character_book and
    /// every field this service has no place for, counted as stored (see <see cref="CardOutline"/>:
    /// a character outside the Basic Multilingual Plane takes 12 bytes there). Only an export reads it.
    /// </summary>
    public const int MaxKeptBytes = 1024 * 1024;

    /// <summary>The deepest nesting of arrays and objects a card may have, the card object itself being level 1.</summary>
    public const int MaxJsonDepth = 64;

    /// <summary>
    /// The deepest a <c>data</c> field V2 does not define (V3's own, and fields neither spec knows)
    /// may nest, counted from the card as <see cref="MaxJsonDepth"/> is: a V2 export keeps such
    /// fields two levels deeper, in <c>data.extensions["chatservice/ccv3"]</c>, and must still be
    /// within <see cref="MaxJsonDepth"/> to be imported again.
    /// </summary>
    public const int MaxNonV2FieldDepth = MaxJsonDepth - 2;
}
