using ChatService.Chats;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    public const int MaxPersonaNameChars = 64;
    public const int MaxPersonaDescriptionChars = 2000;

    /// <summary>Characters one persona may be the override for.</summary>
    public const int MaxPersonaCharacters = 100;

    private static readonly Dictionary<string, PersonaFields> PersonaMaskPaths = new(StringComparer.Ordinal)
    {
        ["name"] = PersonaFields.Name,
        ["description"] = PersonaFields.Description,
        ["is_default"] = PersonaFields.IsDefault,
        ["character_ids"] = PersonaFields.CharacterIds,
    };

    private static readonly HashSet<string> ImmutablePersonaFields = new(["persona_id", "create_time", "update_time"], StringComparer.Ordinal);

    public static NewPersona Persona(V1.CreatePersonaRequest request) =>
        PersonaValues(request.Name, request.Description, request.IsDefault, request.CharacterIds, PersonaFields.All, "");

    /// <summary>An UpdatePersona: the persona's id, the fields the mask names (all four when it is empty) and their values, checked as CreatePersona checks them.</summary>
    public static PersonaUpdate PersonaUpdate(V1.UpdatePersonaRequest request)
    {
        if (request.Persona is not { } persona)
        {
            throw ApiErrors.InvalidArgument("persona", "persona is required: its persona_id names the persona, its other fields are the new values");
        }

        var id = Id(persona.PersonaId, "persona.persona_id");
        var fields = Mask(request.UpdateMask, PersonaMaskPaths, ImmutablePersonaFields, "Persona", PersonaFields.All);
        return new PersonaUpdate(id, PersonaValues(persona.Name, persona.Description, persona.IsDefault, persona.CharacterIds, fields, "persona."), fields);
    }

    /// <summary>A name of 1..64 characters without control characters, a description of up to 2,000, up to 100 distinct character ids.</summary>
    private static NewPersona PersonaValues(string name, string description, bool isDefault, IEnumerable<string> characterIds, PersonaFields fields, string prefix)
    {
        bool Has(PersonaFields field) => (fields & field) != 0;
        if (Has(PersonaFields.Name))
        {
            Required(name, prefix + "name", int.MaxValue);
            MaxChars(name, prefix + "name", MaxPersonaNameChars);
            NoControlCharacters(name, prefix + "name");
        }

        if (Has(PersonaFields.Description))
        {
            MaxChars(description, prefix + "description", MaxPersonaDescriptionChars);
        }

        var ids = Has(PersonaFields.CharacterIds) ? IdList(characterIds, prefix + "character_ids", 0, MaxPersonaCharacters) : [];
        return new NewPersona(name, description, isDefault, ids);
    }
}
