using ChatService.Api.V1;
using CharacterLimits = ChatService.Chats.CharacterLimits;
using Google.Protobuf;
using Grpc.Core;
using FieldMask = Google.Protobuf.WellKnownTypes.FieldMask;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Character definitions, their updates and deletion, personas, and how chats open (greeting_index,
/// persona_id): refused requests, which write nothing, and reads of unlisted and deleted characters.
/// </summary>
internal sealed partial class HostileCases
{
    private static readonly StatusCode[] Stale = [StatusCode.Aborted];
    private static readonly StatusCode[] Deleted = [StatusCode.FailedPrecondition];

    /// <summary>CreateCharacter with one of the Character Card fields out of its bounds.</summary>
    private HostileCase BadCharacterDefinition()
    {
        var party = Caller();
        var request = new CreateCharacterRequest { DisplayName = Marker(), Persona = Marker() + " persona" };
        switch (_random.Next(12))
        {
            case 0: request.AlternateGreetings.Add(Enumerable.Range(0, _random.Next(CharacterLimits.MaxAlternateGreetings + 1, 200)).Select(i => $"{Marker()} {i}")); break;
            case 1: request.AlternateGreetings.Add([Marker(), Garbage.Blank(_random)]); break;
            case 2: request.AlternateGreetings.Add(Garbage.Oversized(_random, MaxMessageBytes, Marker())); break;
            case 3: request.Tags.Add(Pick("a.b", "x/y", new string('t', 33), " lead", "trail ", "", "tab\there", "😀")); break;
            case 4: request.Tags.Add(Enumerable.Range(0, _random.Next(CharacterLimits.MaxTags + 1, 500)).Select(i => $"t{i}")); break;
            case 5: request.AvatarUrl = Pick("http://example.com/a.png", "javascript:alert(1)", "//example.com/a", "https://u:p@example.com/", "https://example.com/ a",
                "https://example.com/" + new string('a', 2049), "file:///etc/passwd"); break;
            case 6: request.CreatorNotes = Marker() + new string('n', _random.Next(CharacterLimits.MaxCreatorNotesChars + 1, 40_000)); break;
            case 7: request.DisplayName = Marker() + Pick("\n", "\r", "\0", "\u0085", "\t"); break;
            case 8: request.Description = Marker() + new string('d', 32_001 - request.Persona.Length); break;
            case 9: request.Persona = Garbage.Blank(_random); request.Description = Garbage.Blank(_random); break;
            case 10: request.Creator = Marker() + new string('c', 257); break;
            default: request.CharacterVersion = Marker() + Pick("\r\n", new string('v', 257)); break;
        }

        return Case(request, "bad-character-definition", Invalid, party.UserId);
    }

    /// <summary>UpdateCharacter and DeleteCharacter refused: masks, ids, versions, other users' characters, definitions left invalid.</summary>
    private HostileCase BadCharacterChange()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var own = Pick(party.Private, party.Quiet, party.Public, party.Unlisted).CharacterId;
        UpdateCharacterRequest Update(string characterId, params string[] paths) => new()
        {
            Character = new Character { CharacterId = characterId, DisplayName = Marker(), Description = Marker() },
            UpdateMask = new FieldMask { Paths = { paths } },
        };

        var (request, generator, allowed) = _random.Next(17) switch
        {
            0 => ((IMessage)Update(own, "display_name", Pick("displayName", "name", "character.display_name", "", "*", "display_name.x", new string('p', 5000))),
                "update-unknown-path", Invalid),
            1 => (Update(own, "display_name", Pick("character_id", "version", "create_time", "update_time", "delete_time", "chat_count")), "update-service-set-path", Invalid),
            2 => (Update(Pick(victim.Private, victim.Quiet, victim.Gone).CharacterId, "display_name"), "update-foreign-character", NotFound),
            3 => (Update(Pick(victim.Public, victim.Unlisted).CharacterId, "display_name"), "update-foreign-visible-character", Denied),
            4 => (Version(Update(own, "display_name"), Pick(1_000L, long.MaxValue, 999_999L)), "update-stale-version", Stale),
            5 => (Update(Garbage.BadId(_random), "display_name"), "update-malformed-id", Invalid),
            6 => (Update(Guid.NewGuid().ToString(), "display_name"), "update-unknown-id", NotFound),
            7 => (Blanked(Update(own, "display_name", "persona", "description")), "update-nothing-defined", Invalid),
            8 => (WithTag(Update(own, "display_name", "tags")), "update-bad-tag", Invalid),
            9 => (Update(party.Gone.CharacterId, "display_name"), "update-deleted-character", Deleted),
            10 => (new UpdateCharacterRequest { UpdateMask = new FieldMask { Paths = { "display_name" } } }, "update-no-character", Invalid),
            11 => (new DeleteCharacterRequest { CharacterId = Garbage.BadId(_random) }, "delete-malformed-id", Invalid),
            12 => (new DeleteCharacterRequest { CharacterId = Guid.NewGuid().ToString() }, "delete-unknown-id", NotFound),
            13 => (new DeleteCharacterRequest { CharacterId = Pick(victim.Private, victim.Quiet, victim.Gone).CharacterId }, "delete-foreign-character", NotFound),
            14 => (new DeleteCharacterRequest { CharacterId = Pick(victim.Public, victim.Unlisted).CharacterId }, "delete-foreign-visible-character", Denied),
            // Deleting what is deleted changes nothing.
            15 => (new DeleteCharacterRequest { CharacterId = party.Gone.CharacterId }, "delete-again", Ok),
            _ => (Scenario(Update(own, "display_name", "scenario"), Marker() + new string('s', 32_001)), "update-definition-too-large", Invalid),
        };
        return Case(request, generator, allowed, party.UserId);
    }

    private static UpdateCharacterRequest Version(UpdateCharacterRequest request, long version)
    {
        request.Character.Version = version;
        return request;
    }

    private static UpdateCharacterRequest Blanked(UpdateCharacterRequest request)
    {
        request.Character.Persona = "";
        request.Character.Description = " ";
        return request;
    }

    private UpdateCharacterRequest WithTag(UpdateCharacterRequest request)
    {
        request.Character.Tags.Add(Pick("a.b", new string('t', 33), "", " x"));
        return request;
    }

    private static UpdateCharacterRequest Scenario(UpdateCharacterRequest request, string scenario)
    {
        request.Character.Scenario = scenario;
        return request;
    }

    /// <summary>Personas refused: bad fields and masks, other users' personas, characters the caller can't see; and the caller's own list.</summary>
    private HostileCase BadPersona()
    {
        var party = Caller();
        var victim = _world.Other(party);
        var hidden = Pick(victim.Private, victim.Quiet, victim.Gone).CharacterId;
        var name = Marker();
        UpdatePersonaRequest Update(string personaId, params string[] paths) => new()
        {
            Persona = new Persona { PersonaId = personaId, Name = Marker(), Description = Marker() },
            UpdateMask = new FieldMask { Paths = { paths } },
        };

        var (request, generator, allowed) = _random.Next(17) switch
        {
            0 => ((IMessage)new CreatePersonaRequest { Name = Garbage.Blank(_random) }, "create-blank-name", Invalid),
            1 => (new CreatePersonaRequest { Name = name + Pick(new string('n', 65), "\n", "\0") }, "create-bad-name", Invalid),
            2 => (new CreatePersonaRequest { Name = name, Description = name + new string('d', _random.Next(2001, 10_000)) }, "create-long-description", Invalid),
            3 => (new CreatePersonaRequest { Name = name, CharacterIds = { party.Private.CharacterId, hidden } }, "create-hidden-character", NotFound),
            4 => (new CreatePersonaRequest { Name = name, CharacterIds = { Guid.NewGuid().ToString() } }, "create-unknown-character", NotFound),
            5 => (new CreatePersonaRequest { Name = name, CharacterIds = { Garbage.BadId(_random) } }, "create-malformed-character", Invalid),
            6 => (new CreatePersonaRequest { Name = name, CharacterIds = { party.Private.CharacterId, party.Private.CharacterId } }, "create-repeated-character", Invalid),
            7 => (Update(Pick(victim.Persona, victim.AltPersona).PersonaId, "name"), "update-foreign-persona", NotFound),
            8 => (Update(Guid.NewGuid().ToString(), "name"), "update-unknown-persona", NotFound),
            9 => (Update(party.AltPersona.PersonaId, "name", Pick("nickname", "Name", "", "persona.name")), "update-unknown-path", Invalid),
            10 => (Update(party.AltPersona.PersonaId, "name", Pick("persona_id", "create_time", "update_time")), "update-service-set-path", Invalid),
            11 => (new UpdatePersonaRequest { UpdateMask = new FieldMask { Paths = { "name" } } }, "update-no-persona", Invalid),
            12 => (WithCharacter(Update(party.AltPersona.PersonaId, "name", "character_ids"), hidden), "update-hidden-character", NotFound),
            13 => (new DeletePersonaRequest { PersonaId = Pick(victim.Persona, victim.AltPersona).PersonaId }, "delete-foreign-persona", NotFound),
            14 => (new DeletePersonaRequest { PersonaId = Garbage.BadId(_random) }, "delete-malformed-persona", Invalid),
            15 => (new DeletePersonaRequest { PersonaId = Guid.NewGuid().ToString() }, "delete-unknown-persona", NotFound),
            _ => (new ListPersonasRequest(), "own-personas", Ok),
        };
        return Case(request, generator, allowed, party.UserId, check: r => r is ListPersonasResponse list
            ? list.Personas.FirstOrDefault(p => victim.PersonaIds.Contains(p.PersonaId)) is { } theirs ? $"ListPersonas returned {victim.UserId}'s persona {theirs.PersonaId}"
                : !list.Personas.Any(p => p.PersonaId == party.Persona.PersonaId && p.IsDefault) ? "ListPersonas left out the caller's default persona"
                : null
            : null);
    }

    private static UpdatePersonaRequest WithCharacter(UpdatePersonaRequest request, string characterId)
    {
        request.Persona.CharacterIds.Add(characterId);
        return request;
    }

    /// <summary>CreateChat refused for its persona or greeting, or for a deleted character.</summary>
    private HostileCase BadChatOpening()
    {
        var party = Caller();
        var other = _world.Other(party);
        var request = new CreateChatRequest { CharacterIds = { party.Private.CharacterId }, Title = Marker() };
        string generator;
        StatusCode[] allowed;
        switch (_random.Next(6))
        {
            case 0: request.PersonaId = Pick(other.Persona, other.AltPersona).PersonaId; (generator, allowed) = ("foreign-persona", NotFound); break;
            case 1: request.PersonaId = Garbage.BadId(_random, allowEmpty: false); (generator, allowed) = ("malformed-persona", Invalid); break;
            case 2: request.PersonaId = Guid.NewGuid().ToString(); (generator, allowed) = ("unknown-persona", NotFound); break;
            // The character has a greeting and no alternate greetings.
            case 3: request.GreetingIndex = _random.Next(1, 17); (generator, allowed) = ("greeting-past-the-greetings", Invalid); break;
            case 4: request.GreetingIndex = Pick(-1, 17, int.MaxValue, int.MinValue); (generator, allowed) = ("greeting-index-out-of-range", Invalid); break;
            default: request.CharacterIds.Add(party.Gone.CharacterId); (generator, allowed) = ("deleted-character", NotFound); break;
        }

        return Case(request, generator, allowed, party.UserId);
    }

    /// <summary>Reads of unlisted and deleted characters: another user's unlisted one by id, one's own deleted one (with its delete time); another user's deleted private one is NOT_FOUND.</summary>
    private HostileCase ReadDefinitions()
    {
        var party = Caller();
        var victim = _world.Other(party);
        return _random.Next(3) switch
        {
            0 => Case(new GetCharacterRequest { CharacterId = victim.Unlisted.CharacterId }, "foreign-unlisted-character", Ok, party.UserId,
                check: r => r is Character { Visibility: Visibility.Unlisted } ? null : $"unlisted character read back as {r}"),
            1 => Case(new GetCharacterRequest { CharacterId = party.Gone.CharacterId }, "own-deleted-character", Ok, party.UserId,
                check: r => r is Character { DeleteTime: not null } ? null : $"deleted character read back without its delete time: {r}"),
            _ => Case(new GetCharacterRequest { CharacterId = victim.Gone.CharacterId }, "foreign-deleted-character", NotFound, party.UserId),
        };
    }
}
