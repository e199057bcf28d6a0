using ChatService.Chats;
using ChatService.Storage;
using Spanner.Client;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Checks the character catalog against the characters: each character's CatalogTerms rows are exactly
/// those of its name, tags, visibility and deletion (its owner's listing, and the public catalog while
/// public), with its creation time and chat count; and its chat count is its counter rows' sum, or
/// lags it (by at most 1/8 or so) only once a counter row is past the exact range.
/// </summary>
internal static class CatalogConsistency
{
    public static async Task<List<string>> CheckAsync(SpannerDatabaseClient database, CancellationToken cancellationToken)
    {
        var characters = (await database.QueryListAsync(
                new SpannerStatement($"SELECT {CharacterStore.CharacterColumns} FROM Characters"), cancellationToken: cancellationToken))
            .Select(CharacterStore.ReadCharacter)
            .ToList();
        var rows = (await database.QueryListAsync(
                new SpannerStatement("SELECT Listing, Term, CharacterId, Shard, CreateTime, ChatCount FROM CatalogTerms"), cancellationToken: cancellationToken))
            .GroupBy(r => r.Get<string>("CharacterId"))
            .ToDictionary(g => g.Key, g => g.ToList());
        var counters = (await database.QueryListAsync(
                new SpannerStatement("SELECT CharacterId, ChatCount FROM CharacterChatCounts"), cancellationToken: cancellationToken))
            .GroupBy(r => r.Get<string>("CharacterId"))
            .ToDictionary(g => g.Key, g => g.Select(r => r.Get<long>("ChatCount")).ToList());

        var problems = new List<string>();
        foreach (var character in characters)
        {
            var expected = ExpectedRows(character);
            var actual = rows.GetValueOrDefault(character.Id, [])
                .Select(r => $"{r.Get<string>("Listing")}|{r.Get<string>("Term")}|{r.Get<long>("Shard")}|{r.Get<DateTimeOffset>("CreateTime"):O}|{r.Get<long>("ChatCount")}")
                .ToHashSet();
            if (!actual.SetEquals(expected))
            {
                problems.Add($"catalog rows of character {character.Id} ({character.DisplayName}, {character.Visibility}, deleted {character.IsDeleted}): " +
                    $"{actual.Except(expected).Count()} unexpected (e.g. {actual.Except(expected).FirstOrDefault()}), " +
                    $"{expected.Except(actual).Count()} missing (e.g. {expected.Except(actual).FirstOrDefault()})");
            }

            var shards = counters.GetValueOrDefault(character.Id, []);
            var sum = shards.Sum();
            var exact = shards.All(count => count < 16);
            // A deleted character's count stops where it was (a fold skips it), so only a live one is held to its counter rows.
            if (!character.IsDeleted && (exact ? character.ChatCount != sum : character.ChatCount > sum || character.ChatCount < sum - (sum / 8) - shards.Count))
            {
                problems.Add($"character {character.Id} counts {character.ChatCount} chats, its counter rows {sum} ({string.Join(", ", shards)})");
            }
        }

        return problems;
    }

    /// <summary>The rows the catalog must hold for a character, written out independently of CatalogEntries' own diffing.</summary>
    private static HashSet<string> ExpectedRows(Character character)
    {
        if (character.IsDeleted)
        {
            return [];
        }

        var terms = CharacterSearch.TermsOf(character.DisplayName, character.Tags);
        var listings = character.Visibility == CharacterVisibility.Public ? new[] { (character.OwnerUserId, 0), ("", Ids.Shard(character.Id, 8)) } : [(character.OwnerUserId, 0)];
        return [.. listings.SelectMany(l => terms.Select(term => $"{l.Item1}|{term}|{l.Item2}|{character.CreateTime:O}|{character.ChatCount}"))];
    }
}
