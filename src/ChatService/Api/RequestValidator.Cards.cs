using System.Text;
using ChatService.Cards;
using ChatService.Chats;

namespace ChatService.Api;

/// <summary>
/// Card imports and exports. A card's fields get the bounds of the character fields they become
/// (the numbers CreateCharacter uses), named by their JSON path after the request field the card
/// came in: <c>json: data.tags[3] must be ...</c>, <c>png: data.name must not be empty</c>.
/// </summary>
internal sealed partial class RequestValidator
{
    public CardImport CardImport(V1.ImportCharacterCardRequest request)
    {
        switch (request.CardCase)
        {
            case V1.ImportCharacterCardRequest.CardOneofCase.Json when request.Json.Length == 0:
                throw ApiErrors.InvalidArgument("json", "json must not be empty");
            case V1.ImportCharacterCardRequest.CardOneofCase.Png when request.Png.IsEmpty:
                throw ApiErrors.InvalidArgument("png", "png must not be empty");
            case V1.ImportCharacterCardRequest.CardOneofCase.Png when request.Png.Length > CardLimits.MaxPngBytes:
                throw ApiErrors.InvalidArgument("png", $"png is {request.Png.Length} bytes; the limit is {CardLimits.MaxPngBytes}");
            case V1.ImportCharacterCardRequest.CardOneofCase.None:
                throw ApiErrors.InvalidArgument("card", "a card is required: json (the card's JSON) or png (a PNG carrying it)");
        }

        var visibility = ImportVisibility(request.Visibility);
        ModelRoute(request.ModelRoute, "model_route");
        var route = request.ModelRoute;
        var png = request.CardCase == V1.ImportCharacterCardRequest.CardOneofCase.Png ? request.Png.ToByteArray() : null;
        var card = png is null ? CardReader.Read(request.Json, "json") : CardReader.Read(PngCardReader.ReadCardJson(png), "png");
        CardWithinBounds(card, png is null ? "json" : "png");
        return new CardImport(card, png, visibility, route.Length == 0 ? null : route);
    }

    /// <summary>The spec an export asks for; null for "as imported".</summary>
    public static CardFormat? CardSpec(V1.CardSpec spec) => spec switch
    {
        V1.CardSpec.Unspecified => null,
        V1.CardSpec.V2 => CardFormat.V2,
        V1.CardSpec.V3 => CardFormat.V3,
        _ => throw ApiErrors.InvalidArgument("spec", $"spec {(int)spec} is not a known value; CARD_SPEC_V2 (2) or CARD_SPEC_V3 (3), or unspecified for the spec it was imported as"),
    };

    private static CharacterVisibility? ImportVisibility(V1.Visibility visibility) => visibility switch
    {
        V1.Visibility.Unspecified => null,
        V1.Visibility.Private => CharacterVisibility.Private,
        V1.Visibility.Public => CharacterVisibility.Public,
        V1.Visibility.Unlisted => CharacterVisibility.Unlisted,
        _ => throw ApiErrors.InvalidArgument("visibility", $"visibility {(int)visibility} is not a known value"),
    };

    /// <summary>
    /// A card's fields within a character's bounds. A card with only a name is valid (its spec makes
    /// every other field optional in practice), so no field beyond the name is required.
    /// </summary>
    private void CardWithinBounds(CharacterCard card, string field)
    {
        void Fail(string problem) => throw ApiErrors.InvalidArgument(field, $"{field}: {problem}");

        if (string.IsNullOrWhiteSpace(card.Name))
        {
            Fail("data.name must not be empty");
        }

        if (card.Name.Length > CharacterLimits.MaxDisplayNameLength)
        {
            Fail($"data.name must be at most {CharacterLimits.MaxDisplayNameLength} characters, got {card.Name.Length}");
        }

        var definition = CharacterLimits.CodePoints(card.Description) + CharacterLimits.CodePoints(card.Personality) + CharacterLimits.CodePoints(card.Scenario) + CharacterLimits.CodePoints(card.MesExample)
            + CharacterLimits.CodePoints(card.SystemPrompt) + CharacterLimits.CodePoints(card.PostHistoryInstructions);
        if (definition > Options.MaxDefinitionChars)
        {
            Fail($"the definition (data.description, personality, scenario, mes_example, system_prompt and post_history_instructions together) " +
                $"must be at most {Options.MaxDefinitionChars} characters, got {definition}");
        }

        var firstMessage = Encoding.UTF8.GetByteCount(card.FirstMes);
        if (firstMessage > Options.MaxMessageBytes)
        {
            Fail($"data.first_mes is {firstMessage} bytes of UTF-8; the limit is {Options.MaxMessageBytes}");
        }

        if (card.AlternateGreetings.Count > CharacterLimits.MaxAlternateGreetings)
        {
            Fail($"data.alternate_greetings must have at most {CharacterLimits.MaxAlternateGreetings} entries, got {card.AlternateGreetings.Count}");
        }

        for (var i = 0; i < card.AlternateGreetings.Count; i++)
        {
            var bytes = Encoding.UTF8.GetByteCount(card.AlternateGreetings[i]);
            if (string.IsNullOrWhiteSpace(card.AlternateGreetings[i]) || bytes > Options.MaxMessageBytes)
            {
                Fail($"data.alternate_greetings[{i}] must be 1..{Options.MaxMessageBytes} bytes of UTF-8 that are not all blank, got {bytes}");
            }
        }

        var creatorNotes = CharacterLimits.CodePoints(card.CreatorNotes);
        if (creatorNotes > CharacterLimits.MaxCreatorNotesChars)
        {
            Fail($"data.creator_notes must be at most {CharacterLimits.MaxCreatorNotesChars} characters, got {creatorNotes}");
        }

        if (card.Tags.Count > CharacterLimits.MaxTags)
        {
            Fail($"data.tags must have at most {CharacterLimits.MaxTags} entries, got {card.Tags.Count}");
        }

        for (var i = 0; i < card.Tags.Count; i++)
        {
            // The rules CreateCharacter's tags are held to, so an imported character passes any update.
            var tag = card.Tags[i];
            if (!CharacterLimits.IsValidTag(tag))
            {
                Fail($"data.tags[{i}] must be {CharacterLimits.TagRule}, got \"{Chats.Text.Preview(tag, 40)}\"");
            }

            if (CharacterLimits.RepeatsEarlierTag(card.Tags, i))
            {
                Fail($"data.tags[{i}] repeats \"{tag}\" (tags differing only in case are one tag)");
            }
        }

        foreach (var (name, value) in new[] { ("creator", card.Creator), ("character_version", card.CharacterVersion) })
        {
            if (value.Length > CharacterLimits.MaxCreatorChars)
            {
                Fail($"data.{name} must be at most {CharacterLimits.MaxCreatorChars} characters, got {value.Length}");
            }
        }
    }

}
