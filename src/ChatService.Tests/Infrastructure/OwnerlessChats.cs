using Spanner.Client;

namespace ChatService.Tests.Infrastructure;

/// <summary>Chats owned by nobody, written straight into Spanner as an import or a fork under way leaves them.</summary>
internal static class OwnerlessChats
{
    /// <summary>
    /// An ownerless chat of <paramref name="characterId"/> with <paramref name="turns"/> user turns (seq 1 up), first
    /// committed at <paramref name="at"/> (now when null): an interrupted fork of <paramref name="forkedFrom"/> at its
    /// last turn when given (as ForkChat's first commits write it), else a half-written import.
    /// </summary>
    public static async Task<string> SeedAsync(
        SpannerDatabaseClient database, string characterId, CancellationToken ct, string? forkedFrom = null, DateTimeOffset? at = null, int turns = 1)
    {
        var chatId = Guid.NewGuid().ToString();
        object time = at is { } when ? when : SpannerCommitTimestamp.Value;
        var rows = new List<SpannerMutation>
        {
            SpannerMutation.Insert("Chats")
                .Set("ChatId", chatId).Set("UserId", "").Set("Title", "half").Set("CharacterIds", new List<string> { characterId })
                .Set("NextSeq", (long)turns).Set("RotationCursor", 0L).Set("LastMessagePreview", "").Set("ForkedFromChatId", forkedFrom)
                .Set("ForkedFromSeq", forkedFrom is null ? null : (long)turns).Set("CreateTime", time).Set("LastActiveTime", time),
        };
        for (var seq = 1; seq <= turns; seq++)
        {
            rows.Add(SpannerMutation.Insert("Turns")
                .Set("ChatId", chatId).Set("Seq", (long)seq).Set("AuthorRole", 1L).Set("Text", $"copied {seq}").Set("CandidateCount", 0L)
                .Set("CreateTime", time).Set("UpdateTime", time));
        }

        await database.WriteAsync(rows, ct);
        return chatId;
    }
}
