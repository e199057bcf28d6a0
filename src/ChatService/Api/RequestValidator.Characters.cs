using System.Globalization;
using ChatService.Chats;
using Google.Protobuf.WellKnownTypes;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    private const int MaxRouteLength = 64;

    /// <summary>The fields an UpdateCharacter mask may name, by their proto names.</summary>
    private static readonly Dictionary<string, CharacterFields> CharacterMaskPaths = new(StringComparer.Ordinal)
    {
        ["display_name"] = CharacterFields.DisplayName,
        ["persona"] = CharacterFields.Persona,
        ["greeting"] = CharacterFields.Greeting,
        ["model_route"] = CharacterFields.ModelRoute,
        ["visibility"] = CharacterFields.Visibility,
        ["description"] = CharacterFields.Description,
        ["personality"] = CharacterFields.Personality,
        ["scenario"] = CharacterFields.Scenario,
        ["example_dialogues"] = CharacterFields.ExampleDialogues,
        ["system_prompt"] = CharacterFields.SystemPrompt,
        ["post_history_instructions"] = CharacterFields.PostHistoryInstructions,
        ["alternate_greetings"] = CharacterFields.AlternateGreetings,
        ["creator_notes"] = CharacterFields.CreatorNotes,
        ["tags"] = CharacterFields.Tags,
        ["avatar_url"] = CharacterFields.AvatarUrl,
        ["creator"] = CharacterFields.Creator,
        ["character_version"] = CharacterFields.CharacterVersion,
        ["talkativeness"] = CharacterFields.Talkativeness,
    };

    /// <summary>Fields of Character the service sets, which no update may name.</summary>
    private static readonly HashSet<string> ImmutableCharacterFields =
        new(["character_id", "version", "create_time", "update_time", "delete_time", "chat_count"], StringComparer.Ordinal);

    /// <summary>A CreateCharacter: every field checked on its own (the definition as a whole is the domain's, <see cref="CharacterLimits.CheckDefinition"/>).</summary>
    public NewCharacter Character(V1.CreateCharacterRequest request) =>
        CharacterValues(new CharacterInput(request), CharacterFields.All, "");

    /// <summary>
    /// An UpdateCharacter: the character's id, the fields the mask names (all an author sets when it is
    /// empty; a path that is not a field of Character, or that names a field the service sets, is
    /// refused), those fields' values checked as CreateCharacter checks them, and the version edited.
    /// </summary>
    public CharacterUpdate CharacterUpdate(V1.UpdateCharacterRequest request)
    {
        if (request.Character is not { } character)
        {
            throw ApiErrors.InvalidArgument("character", "character is required: its character_id names the character, its other fields are the new values");
        }

        var id = Id(character.CharacterId, "character.character_id");
        var fields = Mask(request.UpdateMask, CharacterMaskPaths, ImmutableCharacterFields, "Character", CharacterFields.All);
        if (character.Version < 0)
        {
            ApiErrors.ThrowInvalidArgument("character.version", $"character.version must be the version edited (1 or more), or 0 for none; got {character.Version}");
        }

        var values = CharacterValues(new CharacterInput(character), fields, "character.");
        return new CharacterUpdate(id, values, fields, character.Version == 0 ? null : character.Version);
    }

    /// <summary>
    /// The fields of a FieldMask as flags: <paramref name="all"/> when it names none; INVALID_ARGUMENT
    /// naming update_mask for a path of a field the service sets, or of none.
    /// </summary>
    private static TFields Mask<TFields>(FieldMask? mask, Dictionary<string, TFields> paths, HashSet<string> immutable, string message, TFields all)
        where TFields : struct, System.Enum
    {
        if (mask is null || mask.Paths.Count == 0)
        {
            return all;
        }

        var fields = 0L;
        foreach (var path in mask.Paths)
        {
            if (paths.TryGetValue(path, out var field))
            {
                fields |= Convert.ToInt64(field, CultureInfo.InvariantCulture);
                continue;
            }

            var shown = path.Length <= 64 ? path : path[..64] + "…";
            ApiErrors.ThrowInvalidArgument("update_mask", immutable.Contains(path)
                ? $"update_mask names {shown}, which the service sets and no update can change"
                : $"update_mask names '{shown}', which is not a field of {message} (paths are field names such as {paths.Keys.First()})");
        }

        return (TFields)System.Enum.ToObject(typeof(TFields), fields);
    }

    /// <summary>The values of <paramref name="fields"/>, each checked; fields left out keep their defaults (and are not looked at).</summary>
    private NewCharacter CharacterValues(CharacterInput input, CharacterFields fields, string prefix)
    {
        bool Has(CharacterFields field) => (fields & field) != 0;
        if (Has(CharacterFields.DisplayName))
        {
            Required(input.DisplayName, prefix + "display_name", CharacterLimits.MaxDisplayNameLength);
            NoControlCharacters(input.DisplayName, prefix + "display_name");
        }

        if (Has(CharacterFields.Persona))
        {
            Bytes(input.Persona, prefix + "persona", Options.MaxPersonaBytes);
        }

        if (Has(CharacterFields.Greeting))
        {
            Bytes(input.Greeting, prefix + "greeting", Options.MaxMessageBytes);
        }

        if (Has(CharacterFields.ModelRoute))
        {
            ModelRoute(input.ModelRoute, prefix + "model_route");
        }

        CharacterVisibility? visibility = null;
        if (Has(CharacterFields.Visibility))
        {
            visibility = input.Visibility switch
            {
                V1.Visibility.Unspecified => null,
                V1.Visibility.Private => CharacterVisibility.Private,
                V1.Visibility.Public => CharacterVisibility.Public,
                V1.Visibility.Unlisted => CharacterVisibility.Unlisted,
                _ => throw ApiErrors.InvalidArgument(prefix + "visibility", $"{prefix}visibility {(int)input.Visibility} is not a known value"),
            };
        }

        if (Has(CharacterFields.AlternateGreetings))
        {
            AlternateGreetings(input.AlternateGreetings, prefix + "alternate_greetings");
        }

        if (Has(CharacterFields.CreatorNotes))
        {
            MaxChars(input.CreatorNotes, prefix + "creator_notes", CharacterLimits.MaxCreatorNotesChars);
        }

        if (Has(CharacterFields.Tags))
        {
            Tags(input.Tags, prefix + "tags");
        }

        if (Has(CharacterFields.AvatarUrl))
        {
            AvatarUrl(input.AvatarUrl, prefix + "avatar_url");
        }

        if (Has(CharacterFields.Creator))
        {
            MaxChars(input.Creator, prefix + "creator", CharacterLimits.MaxCreatorChars);
            NoControlCharacters(input.Creator, prefix + "creator");
        }

        if (Has(CharacterFields.CharacterVersion))
        {
            MaxChars(input.CharacterVersion, prefix + "character_version", CharacterLimits.MaxCharacterVersionChars);
            NoControlCharacters(input.CharacterVersion, prefix + "character_version");
        }

        var talkativeness = Has(CharacterFields.Talkativeness)
            ? Talkativeness(input.HasTalkativeness, input.Talkativeness, prefix + "talkativeness")
            : Chats.Character.DefaultTalkativeness;

        // The definition's texts are bounded together (Chat:MaxDefinitionChars), on the character as it would be stored.
        return new NewCharacter(input.DisplayName, input.Persona, input.Greeting, input.ModelRoute, visibility)
        {
            Description = input.Description,
            Personality = input.Personality,
            Scenario = input.Scenario,
            ExampleDialogues = input.ExampleDialogues,
            SystemPrompt = input.SystemPrompt,
            PostHistoryInstructions = input.PostHistoryInstructions,
            AlternateGreetings = [.. input.AlternateGreetings],
            CreatorNotes = input.CreatorNotes,
            Tags = [.. input.Tags],
            AvatarUrl = input.AvatarUrl,
            Creator = input.Creator,
            CharacterVersion = input.CharacterVersion,
            Talkativeness = talkativeness,
        };
    }

    /// <summary>Which greeting a new chat opens with: 0 (the greeting) to the most alternate greetings a character may have.</summary>
    public static int GreetingIndex(int index)
    {
        if (index is < 0 or > CharacterLimits.MaxAlternateGreetings)
        {
            ApiErrors.ThrowInvalidArgument("greeting_index",
                $"greeting_index must be 0 (the greeting) or n for alternate_greetings[n-1], at most {CharacterLimits.MaxAlternateGreetings}; got {index}");
        }

        return index;
    }

    private void ModelRoute(string route, string field)
    {
        if (route.Length > MaxRouteLength || !route.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be at most {MaxRouteLength} characters of a-z, 0-9, '-' and '_'");
        }

        if (route.Length > 0 && !router.HasRoute(route))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} '{route}' is not a route this service has configured");
        }
    }

    private void AlternateGreetings(IReadOnlyList<string> greetings, string field)
    {
        if (greetings.Count > CharacterLimits.MaxAlternateGreetings)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must have at most {CharacterLimits.MaxAlternateGreetings} entries, got {greetings.Count}");
        }

        for (var i = 0; i < greetings.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(greetings[i]))
            {
                ApiErrors.ThrowInvalidArgument($"{field}[{i}]", $"{field}[{i}] must not be empty");
            }

            Bytes(greetings[i], $"{field}[{i}]", Options.MaxMessageBytes);
        }
    }

    /// <summary>Catalog labels: at most <see cref="CharacterLimits.MaxTags"/>, each <see cref="CharacterLimits.IsValidTag"/>, none twice (ignoring case); the rules a card's tags are held to.</summary>
    private static void Tags(IReadOnlyList<string> tags, string field)
    {
        if (tags.Count > CharacterLimits.MaxTags)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must have at most {CharacterLimits.MaxTags} entries, got {tags.Count}");
        }

        for (var i = 0; i < tags.Count; i++)
        {
            if (!CharacterLimits.IsValidTag(tags[i]))
            {
                ApiErrors.ThrowInvalidArgument($"{field}[{i}]", $"{field}[{i}] must be {CharacterLimits.TagRule}");
            }

            if (CharacterLimits.RepeatsEarlierTag(tags, i))
            {
                ApiErrors.ThrowInvalidArgument($"{field}[{i}]", $"{field}[{i}] repeats {tags[i]} (tags differing only in case are one tag)");
            }
        }
    }

    /// <summary>Empty, or an absolute https URL of at most <see cref="CharacterLimits.MaxAvatarUrlLength"/> characters, without spaces or credentials.</summary>
    private static void AvatarUrl(string url, string field)
    {
        if (url.Length == 0)
        {
            return;
        }

        if (url.Length > CharacterLimits.MaxAvatarUrlLength || url.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.Host.Length == 0 || uri.UserInfo.Length > 0)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be an https URL (https://host/...) of at most {CharacterLimits.MaxAvatarUrlLength} characters, without spaces or credentials");
        }
    }

    private static void MaxChars(string value, string field, int maxChars)
    {
        var chars = CharacterLimits.CodePoints(value);
        if (chars > maxChars)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be at most {maxChars} characters, got {chars}");
        }
    }

    private static void NoControlCharacters(string value, string field)
    {
        if (value.Any(char.IsControl))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must not contain control characters (such as line breaks)");
        }
    }

    /// <summary>The author's fields of a CreateCharacterRequest or of a Character (an UpdateCharacter's new values), which share their names.</summary>
    private sealed record CharacterInput(
        string DisplayName, string Persona, string Greeting, string ModelRoute, V1.Visibility Visibility,
        string Description, string Personality, string Scenario, string ExampleDialogues, string SystemPrompt, string PostHistoryInstructions,
        IReadOnlyList<string> AlternateGreetings, string CreatorNotes, IReadOnlyList<string> Tags, string AvatarUrl, string Creator, string CharacterVersion,
        bool HasTalkativeness, double Talkativeness)
    {
        public CharacterInput(V1.CreateCharacterRequest r)
            : this(r.DisplayName, r.Persona, r.Greeting, r.ModelRoute, r.Visibility, r.Description, r.Personality, r.Scenario, r.ExampleDialogues,
                r.SystemPrompt, r.PostHistoryInstructions, r.AlternateGreetings, r.CreatorNotes, r.Tags, r.AvatarUrl, r.Creator, r.CharacterVersion,
                r.HasTalkativeness, r.Talkativeness)
        {
        }

        public CharacterInput(V1.Character c)
            : this(c.DisplayName, c.Persona, c.Greeting, c.ModelRoute, c.Visibility, c.Description, c.Personality, c.Scenario, c.ExampleDialogues,
                c.SystemPrompt, c.PostHistoryInstructions, c.AlternateGreetings, c.CreatorNotes, c.Tags, c.AvatarUrl, c.Creator, c.CharacterVersion,
                c.HasTalkativeness, c.Talkativeness)
        {
        }
    }
}
