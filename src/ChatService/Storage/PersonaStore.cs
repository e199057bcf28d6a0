using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.PersonaRows;

namespace ChatService.Storage;

/// <summary>
/// Users' personas (Personas) and which persona a user is to which character (PersonaOverrides, one
/// row per user and character, so a character is in at most one persona). A user's rows of both tables
/// lead with the user id: everything here reads and writes one user's ranges.
/// </summary>
internal sealed class PersonaStore(SpannerGateway spanner) : IPersonaStore
{
    public async Task<UserPersona> CreateAsync(string userId, NewPersona persona, int maxPerUser, CancellationToken cancellationToken)
    {
        var personaId = Ids.New();
        var (_, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var count = (await tx.QueryListAsync(new SpannerStatement("SELECT COUNT(*) FROM Personas WHERE UserId = @userId").Add("userId", userId), ct))[0].Get<long>(0);
            if (count >= maxPerUser)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"you have {count} personas, the most a user may have ({maxPerUser}); delete one first");
            }

            await CheckCharactersAsync(tx, userId, persona.CharacterIds, ct);
            if (persona.IsDefault)
            {
                await ClearDefaultAsync(tx, userId, except: personaId, ct);
            }

            tx.BufferWrite(SpannerMutation.Insert("Personas")
                .Set("UserId", userId)
                .Set("PersonaId", personaId)
                .Set("Name", persona.Name)
                .Set("Description", persona.Description)
                .Set("IsDefault", persona.IsDefault)
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            Assign(tx, userId, personaId, persona.CharacterIds);
            return true;
        }, cancellationToken);

        return new UserPersona(personaId, userId, persona.Name, persona.Description, persona.IsDefault, [.. persona.CharacterIds.Order(StringComparer.Ordinal)], committed, committed);
    }

    public async Task<IReadOnlyList<UserPersona>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(
            new SpannerStatement($"{PersonaSelect} WHERE p.UserId = @userId ORDER BY p.IsDefault DESC, p.Name, p.PersonaId").Add("userId", userId), ct),
            cancellationToken);
        return rows.Select(ReadPersona).ToList();
    }

    public Task<UserPersona?> GetAsync(string userId, string personaId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ReadOneAsync(reader, userId, personaId, ct), cancellationToken);

    public async Task<UserPersona> UpdateAsync(string userId, PersonaUpdate update, CancellationToken cancellationToken)
    {
        bool Has(PersonaFields field) => (update.Fields & field) != 0;
        var (changed, committed) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadOneAsync(tx, userId, update.PersonaId, ct) ?? throw ChatException.PersonaNotFound(update.PersonaId);
            var values = update.Values;
            var next = current with
            {
                Name = Has(PersonaFields.Name) ? values.Name : current.Name,
                Description = Has(PersonaFields.Description) ? values.Description : current.Description,
                IsDefault = Has(PersonaFields.IsDefault) ? values.IsDefault : current.IsDefault,
                CharacterIds = Has(PersonaFields.CharacterIds) ? [.. values.CharacterIds.Order(StringComparer.Ordinal)] : current.CharacterIds,
            };
            if (Has(PersonaFields.CharacterIds))
            {
                // Only characters it gains are checked: one it keeps may have become invisible since (made
                // private by its owner), and an unchanged list must not start failing for that.
                await CheckCharactersAsync(tx, userId, next.CharacterIds.Except(current.CharacterIds).ToList(), ct);
                foreach (var dropped in current.CharacterIds.Except(next.CharacterIds))
                {
                    tx.BufferWrite(SpannerMutation.Delete("PersonaOverrides", SpannerKey.Of(userId, dropped)));
                }

                Assign(tx, userId, update.PersonaId, next.CharacterIds.Except(current.CharacterIds).ToList());
            }

            if (next.IsDefault && !current.IsDefault)
            {
                await ClearDefaultAsync(tx, userId, except: update.PersonaId, ct);
            }

            tx.BufferWrite(SpannerMutation.Update("Personas")
                .Set("UserId", userId)
                .Set("PersonaId", update.PersonaId)
                .Set("Name", next.Name)
                .Set("Description", next.Description)
                .Set("IsDefault", next.IsDefault)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            return next;
        }, cancellationToken);

        return changed with { UpdateTime = committed };
    }

    public async Task<bool> DeleteAsync(string userId, string personaId, CancellationToken cancellationToken)
    {
        var (deleted, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            if (await ReadOneAsync(tx, userId, personaId, ct) is not { } persona)
            {
                return false;
            }

            tx.BufferWrite(SpannerMutation.Delete("Personas", SpannerKey.Of(userId, personaId)));
            foreach (var characterId in persona.CharacterIds)
            {
                tx.BufferWrite(SpannerMutation.Delete("PersonaOverrides", SpannerKey.Of(userId, characterId)));
            }

            return true;
        }, cancellationToken);
        return deleted;
    }

    public async Task<IReadOnlyDictionary<string, UserPersona>> ForCharactersAsync(string userId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        // The default persona, and the personas overriding it for any of the characters, in one read.
        var statement = new SpannerStatement(
                $"""
                {PersonaSelect}
                WHERE p.UserId = @userId
                  AND (p.IsDefault OR EXISTS (SELECT 1 FROM PersonaOverrides o
                                              WHERE o.UserId = @userId AND o.PersonaId = p.PersonaId AND o.CharacterId IN UNNEST(@characterIds)))
                """)
            .Add("userId", userId)
            .Add("characterIds", SpannerType.ArrayOf(SpannerType.String), characterIds.ToList());
        var personas = (await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(statement, ct), cancellationToken)).Select(ReadPersona).ToList();
        var fallback = personas.FirstOrDefault(p => p.IsDefault);
        var resolved = new Dictionary<string, UserPersona>();
        foreach (var characterId in characterIds)
        {
            if ((personas.FirstOrDefault(p => p.CharacterIds.Contains(characterId)) ?? fallback) is { } persona)
            {
                resolved[characterId] = persona;
            }
        }

        return resolved;
    }

    private static async Task<UserPersona?> ReadOneAsync(ISpannerReader reader, string userId, string personaId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"{PersonaSelect} WHERE p.UserId = @userId AND p.PersonaId = @personaId").Add("userId", userId).Add("personaId", personaId),
            cancellationToken);
        return rows.Count == 0 ? null : ReadPersona(rows[0]);
    }

    /// <summary>NOT_FOUND naming the first of <paramref name="characterIds"/> that does not exist or that the user can't see.</summary>
    private static async Task CheckCharactersAsync(SpannerTransaction tx, string userId, IReadOnlyList<string> characterIds, CancellationToken cancellationToken)
    {
        var found = (await CharacterStore.ReadAsync(tx, characterIds, cancellationToken)).ToDictionary(c => c.Id);
        if (characterIds.FirstOrDefault(id => !found.TryGetValue(id, out var c) || !c.IsVisibleTo(userId)) is { } missing)
        {
            throw ChatException.CharacterNotFound(missing);
        }
    }

    /// <summary>The user's default persona, if another than <paramref name="except"/>, stops being it.</summary>
    private static async Task ClearDefaultAsync(SpannerTransaction tx, string userId, string except, CancellationToken cancellationToken)
    {
        var defaults = await tx.QueryListAsync(
            new SpannerStatement("SELECT PersonaId FROM Personas WHERE UserId = @userId AND IsDefault AND PersonaId != @except").Add("userId", userId).Add("except", except),
            cancellationToken);
        foreach (var row in defaults)
        {
            tx.BufferWrite(SpannerMutation.Update("Personas")
                .Set("UserId", userId)
                .Set("PersonaId", row.Get<string>("PersonaId"))
                .Set("IsDefault", false)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
        }
    }

    /// <summary>Makes the persona the user's one for each character, taking it from whichever persona had it.</summary>
    private static void Assign(SpannerTransaction tx, string userId, string personaId, IEnumerable<string> characterIds)
    {
        foreach (var characterId in characterIds)
        {
            tx.BufferWrite(SpannerMutation.InsertOrUpdate("PersonaOverrides")
                .Set("UserId", userId)
                .Set("CharacterId", characterId)
                .Set("PersonaId", personaId));
        }
    }
}
