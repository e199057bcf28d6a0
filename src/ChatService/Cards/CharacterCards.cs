using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Cards;

/// <summary>What a card import asks for: the card (its fields checked), the PNG it came in (null for JSON), the new character's visibility and route (defaults when null).</summary>
public sealed record CardImport(CharacterCard Card, byte[]? Png, CharacterVisibility? Visibility, string? ModelRoute);

/// <summary>An exported card: <see cref="Json"/> or <see cref="Png"/>, and a name for the file.</summary>
public sealed record CardExport(string? Json, byte[]? Png, string FileName);

/// <summary>
/// Characters from Character Cards and back: an import creates a character of the caller from the
/// card's fields, keeping the rest of the card (<see cref="CardOutline"/>) and the picture it came
/// in; an export writes the character's current definition as a card of either spec.
/// </summary>
public sealed class CharacterCards(ICharacterStore store, CharacterCatalog catalog, IOptions<ChatOptions> options)
{
    /// <summary>
    /// The new character (see <see cref="CharacterCard.ToCharacter"/>), with the picture the card came
    /// in kept without its card chunks (the card is stored as the character's fields; an export writes
    /// fresh chunks). Refused when an export of it would be more than an import takes (<see cref="ExportBounds"/>).
    /// </summary>
    public Task<Character> ImportAsync(string userId, CardImport import, CancellationToken cancellationToken)
    {
        var character = import.Card.ToCharacter(
            Ids.New(),
            userId,
            string.IsNullOrEmpty(import.ModelRoute) ? options.Value.DefaultModelRoute : import.ModelRoute,
            import.Visibility ?? CharacterVisibility.Private);
        var card = new StoredCard(import.Card.Kept, import.Png is { } png ? PngWriter.WithCards(png, []) : null);
        ExportBounds.Check(character, card.Outline, card.Picture, import.Png is null ? "json" : PngFile.Field);
        return import.Card.Book is { } book
            ? store.InsertAsync(character, card, book with { Id = Ids.New(), OwnerUserId = userId, CharacterId = character.Id }, cancellationToken)
            : store.InsertAsync(character, card, cancellationToken);
    }

    /// <summary>
    /// An UpdateCharacter (<see cref="CharacterCatalog.UpdateAsync"/>), refused as an import would be
    /// when an export of the changed character would be more than an import takes (<see cref="ExportBounds"/>):
    /// with the picture and the rest of the card it was imported with, a longer definition can make its
    /// PNG too large to import again. The picture and the kept card never change after the import, so
    /// they are read once, before the update's transaction (nothing for a character made here), and only
    /// for a character of the caller's with a card: anyone else's update is refused without reading megabytes.
    /// </summary>
    public async Task<Character> UpdateAsync(string userId, CharacterUpdate update, CancellationToken cancellationToken)
    {
        var current = (await store.GetManyAsync([update.CharacterId], cancellationToken)).FirstOrDefault();
        var stored = current is { CardSpec: not null } && current.OwnerUserId == userId
            ? await store.ReadCardAsync(update.CharacterId, withPicture: true, cancellationToken)
            : null;
        return await catalog.UpdateAsync(userId, update, cancellationToken,
            changed => ExportBounds.Check(changed, stored?.Outline, stored?.Picture, "character"));
    }

    /// <summary>
    /// A character the user can see (as GetCharacter decides) as a card of <paramref name="spec"/>
    /// (null: the spec it was imported as; V3 for a character made here). As a PNG: the picture it
    /// came in, or a 1x1 placeholder, carrying the card; a V3 PNG also carries a V2 copy in a
    /// <c>chara</c> chunk for applications that read only V2, as the V3 spec recommends.
    /// </summary>
    public async Task<CardExport> ExportAsync(string userId, string characterId, CardFormat? spec, bool png, CancellationToken cancellationToken)
    {
        var character = await catalog.GetAsync(userId, characterId, cancellationToken);
        var format = spec ?? (CardFormat)(character.CardSpec ?? (int)CardFormat.V3);
        var stored = character.CardSpec is null ? null : await store.ReadCardAsync(characterId, withPicture: png, cancellationToken);
        if (!png)
        {
            return new CardExport(CardWriter.Write(character, stored?.Outline, format), null, FileName(character.DisplayName, ".card.json"));
        }

        var card = CardWriter.Write(character, stored?.Outline, format);
        (string, string)[] cards = format == CardFormat.V3
            ? [(PngCardReader.V3Keyword, card), (PngCardReader.V2Keyword, CardWriter.Write(character, stored?.Outline, CardFormat.V2, v2Copy: true))]
            : [(PngCardReader.V2Keyword, card)];
        return new CardExport(null, PngWriter.WithCards(stored?.Picture, cards), FileName(character.DisplayName, ".png"));
    }

    /// <summary>The display name made safe as a file name: letters, digits, spaces, '-', '_' and '.' kept, anything else '_'.</summary>
    private static string FileName(string displayName, string extension)
    {
        var safe = new string(displayName.Select(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_' or '.' ? c : '_').ToArray()).Trim(' ', '.');
        return (safe.Length == 0 ? "character" : safe) + extension;
    }
}
