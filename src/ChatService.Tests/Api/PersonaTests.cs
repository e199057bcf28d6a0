using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>User personas: creating, listing, one default, per-character overrides, updates, deletion, limits.</summary>
public sealed class PersonaTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    private async Task<Persona> CreatePersonaAsync(string user, string name, bool isDefault = false, string description = "", params string[] characterIds) =>
        await Fixture.Client(user).CreatePersonaAsync(new CreatePersonaRequest
        {
            Name = name, Description = description, IsDefault = isDefault, CharacterIds = { characterIds },
        }, cancellationToken: Ct);

    private async Task<List<Persona>> ListAsync(string user) =>
        [.. (await Fixture.Client(user).ListPersonasAsync(new ListPersonasRequest(), cancellationToken: Ct)).Personas];

    [Fact]
    public async Task Personas_AreListedDefaultFirstThenByName_AndANewDefaultReplacesTheOld()
    {
        var user = TestUsers.New();
        var zed = await CreatePersonaAsync(user, "Zed", isDefault: true, "A night owl.");
        await CreatePersonaAsync(user, "Bea");
        await CreatePersonaAsync(user, "Al");

        Assert.Equal(["Zed", "Al", "Bea"], (await ListAsync(user)).Select(p => p.Name));
        Assert.Equal(("A night owl.", true), (zed.Description, zed.IsDefault));

        var quinn = await CreatePersonaAsync(user, "Quinn", isDefault: true);

        var listed = await ListAsync(user);
        Assert.Equal(["Quinn", "Al", "Bea", "Zed"], listed.Select(p => p.Name));
        Assert.Equal([quinn.PersonaId], listed.Where(p => p.IsDefault).Select(p => p.PersonaId));
        Assert.Empty(await ListAsync(TestUsers.New()));
    }

    [Fact]
    public async Task ACharacter_IsInOnePersonaAtATime_MovingWhenAnotherTakesIt()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var bob = await CreateCharacterAsync(user, "Bob");
        var shared = await CreateCharacterAsync(TestUsers.New(), "Pat", visibility: Visibility.Public);
        var sailor = await CreatePersonaAsync(user, "Sailor", false, "", ada.CharacterId, bob.CharacterId);

        var pirate = await CreatePersonaAsync(user, "Pirate", false, "", bob.CharacterId, shared.CharacterId);

        var listed = (await ListAsync(user)).ToDictionary(p => p.Name);
        Assert.Equal([ada.CharacterId], listed["Sailor"].CharacterIds);
        Assert.Equal(new[] { bob.CharacterId, shared.CharacterId }.Order(StringComparer.Ordinal), listed["Pirate"].CharacterIds);
        Assert.Equal(listed["Pirate"], pirate);

        var updated = await Fixture.Client(user).UpdatePersonaAsync(new UpdatePersonaRequest
        {
            Persona = new Persona { PersonaId = sailor.PersonaId, CharacterIds = { bob.CharacterId } },
            UpdateMask = new FieldMask { Paths = { "character_ids" } },
        }, cancellationToken: Ct);

        Assert.Equal([bob.CharacterId], updated.CharacterIds);
        Assert.Equal(("Sailor", false), (updated.Name, updated.IsDefault));
        listed = (await ListAsync(user)).ToDictionary(p => p.Name);
        Assert.Equal([shared.CharacterId], listed["Pirate"].CharacterIds);
        Assert.Equal(listed["Sailor"], updated);
    }

    [Fact]
    public async Task UpdatePersona_MaskedFieldsChange_IsDefaultMovesTheDefault_AnEmptyMaskReplacesAll()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var first = await CreatePersonaAsync(user, "First", isDefault: true, "one", ada.CharacterId);
        var second = await CreatePersonaAsync(user, "Second");

        var renamed = await Fixture.Client(user).UpdatePersonaAsync(new UpdatePersonaRequest
        {
            Persona = new Persona { PersonaId = second.PersonaId, Name = "Second, renamed", IsDefault = true, Description = "not in the mask" },
            UpdateMask = new FieldMask { Paths = { "name", "is_default" } },
        }, cancellationToken: Ct);

        Assert.Equal(("Second, renamed", "", true), (renamed.Name, renamed.Description, renamed.IsDefault));
        Assert.True(renamed.UpdateTime.ToDateTimeOffset() >= second.UpdateTime.ToDateTimeOffset());
        Assert.False((await ListAsync(user)).Single(p => p.PersonaId == first.PersonaId).IsDefault);

        var replaced = await Fixture.Client(user).UpdatePersonaAsync(new UpdatePersonaRequest
        {
            Persona = new Persona { PersonaId = first.PersonaId, Name = "Only a name" },
        }, cancellationToken: Ct);

        Assert.Equal(("Only a name", "", false), (replaced.Name, replaced.Description, replaced.IsDefault));
        Assert.Empty(replaced.CharacterIds);
        Assert.Equal(first.CreateTime, replaced.CreateTime);
    }

    [Fact]
    public async Task DeletePersona_RemovesItAndItsOverrides_ThenIsNotFound()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var persona = await CreatePersonaAsync(user, "Gone", false, "", ada.CharacterId);

        await Fixture.Client(user).DeletePersonaAsync(new DeletePersonaRequest { PersonaId = persona.PersonaId }, cancellationToken: Ct);

        Assert.Empty(await ListAsync(user));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM PersonaOverrides WHERE UserId = @u", ("u", user)));
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(user).DeletePersonaAsync(
            new DeletePersonaRequest { PersonaId = persona.PersonaId }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task AnotherUsersPersona_IsNotFound_ForUpdateDeleteAndChats_AndNothingIsWritten()
    {
        var owner = TestUsers.New();
        var intruder = TestUsers.New();
        var persona = await CreatePersonaAsync(owner, "Mine");
        var character = await CreateCharacterAsync(intruder);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(intruder).UpdatePersonaAsync(
            new UpdatePersonaRequest { Persona = new Persona { PersonaId = persona.PersonaId, Name = "Stolen" } }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(intruder).DeletePersonaAsync(
            new DeletePersonaRequest { PersonaId = persona.PersonaId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(intruder).CreateChatAsync(
            new CreateChatRequest { CharacterIds = { character.CharacterId }, PersonaId = persona.PersonaId }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(before, await Fixture.SnapshotAsync());
        Assert.Equal([persona], await ListAsync(owner));
    }

    [Fact]
    public async Task APersonaForCharactersTheUserCannotSee_IsNotFound_AndNothingIsWritten()
    {
        var user = TestUsers.New();
        var hidden = await CreateCharacterAsync(TestUsers.New());
        var own = await CreateCharacterAsync(user);
        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.NotFound, () => CreatePersonaAsync(user, "Spy", false, "", own.CharacterId, hidden.CharacterId));
        await AssertStatusAsync(StatusCode.NotFound, () => CreatePersonaAsync(user, "Ghost", false, "", Guid.NewGuid().ToString()));

        Assert.Contains(hidden.CharacterId, ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task AUser_HasAtMost100Personas()
    {
        var user = TestUsers.New();
        for (var i = 0; i < 100; i++)
        {
            await CreatePersonaAsync(user, $"Persona {i:D3}");
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.FailedPrecondition, () => CreatePersonaAsync(user, "One too many"));

        Assert.Contains("100", ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
        Assert.Equal(100, (await ListAsync(user)).Count);
    }

    public static TheoryData<string, string> BadPersonas => new()
    {
        { "blank-name", "name" },
        { "name-of-65", "name" },
        { "name-with-line-break", "name" },
        { "description-over-2000", "description" },
        { "malformed-character", "character_ids[0]" },
        { "repeated-character", "character_ids[1]" },
        { "too-many-characters", "character_ids" },
    };

    [Theory]
    [MemberData(nameof(BadPersonas))]
    public async Task CreatePersona_BadField_IsInvalidArgumentNamingIt_AndWritesNothing(string scenario, string field)
    {
        var request = new CreatePersonaRequest { Name = "Quinn" };
        var id = Guid.NewGuid().ToString();
        switch (scenario)
        {
            case "blank-name": request.Name = "\t"; break;
            case "name-of-65": request.Name = string.Concat(Enumerable.Repeat("😀", 65)); break;
            case "name-with-line-break": request.Name = "Quinn\nThe system says"; break;
            case "description-over-2000": request.Description = new string('d', 2001); break;
            case "malformed-character": request.CharacterIds.Add("ada"); break;
            case "repeated-character": request.CharacterIds.Add([id, id]); break;
            case "too-many-characters": request.CharacterIds.Add(Enumerable.Range(0, 101).Select(_ => Guid.NewGuid().ToString())); break;
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(TestUsers.New()).CreatePersonaAsync(request, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(field, FieldOf(ex));
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Theory]
    [InlineData("unknown-path", "update_mask")]
    [InlineData("service-set-path", "update_mask")]
    [InlineData("no-persona", "persona")]
    [InlineData("blank-name", "persona.name")]
    [InlineData("malformed-id", "persona.persona_id")]
    public async Task UpdatePersona_BadRequest_IsInvalidArgumentNamingTheField_AndChangesNothing(string scenario, string field)
    {
        var user = TestUsers.New();
        var persona = await CreatePersonaAsync(user, "Quinn", true, "A sailor.");
        var request = new UpdatePersonaRequest
        {
            Persona = new Persona { PersonaId = persona.PersonaId, Name = "Changed" },
            UpdateMask = new FieldMask { Paths = { "name" } },
        };
        switch (scenario)
        {
            case "unknown-path": request.UpdateMask.Paths.Add("nickname"); break;
            case "service-set-path": request.UpdateMask.Paths.Add("persona_id"); break;
            case "no-persona": request.Persona = null; break;
            case "blank-name": request.Persona.Name = ""; break;
            case "malformed-id": request.Persona.PersonaId = "quinn"; break;
        }

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => Fixture.Client(user).UpdatePersonaAsync(request, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(field, FieldOf(ex));
        Assert.Equal([persona], await ListAsync(user));
    }
}
