using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The columns of a chat's memory (note, depth, latest live summary) and their mapping, for any query over <c>Chats ch</c>.</summary>
internal static class ChatMemoryRows
{
    // The latest summary that was not discarded, as scalar subqueries on the chat row: the window's one
    // read carries it (ChatSummaries is interleaved in Chats, so this reads the chat's own split).
    private const string LatestSummary = "FROM ChatSummaries s WHERE s.ChatId = ch.ChatId AND s.DiscardTime IS NULL ORDER BY s.Version DESC LIMIT 1";

    public const string MemoryColumns =
        "ch.MemoryNote, ch.MemoryDepth, ch.MemoryUpdateTime, " +
        $"(SELECT s.Version {LatestSummary}) AS SummaryVersion, " +
        $"(SELECT s.ThroughSeq {LatestSummary}) AS SummaryThroughSeq, " +
        $"(SELECT s.Text {LatestSummary}) AS SummaryText, " +
        $"(SELECT s.CreateTime {LatestSummary}) AS SummaryTime, " +
        "(SELECT MAX(s.Version) FROM ChatSummaries s WHERE s.ChatId = ch.ChatId) AS SummaryGeneration";

    /// <summary>The chat's memory, from a row that has <see cref="MemoryColumns"/>.</summary>
    public static ChatMemory Read(SpannerRow row)
    {
        var note = row.Get<string?>("MemoryNote");
        var depth = row.Get<long?>("MemoryDepth");
        var summary = row.IsNull("SummaryVersion")
            ? null
            : new ChatSummary(row.Get<long>("SummaryVersion"), row.Get<long>("SummaryThroughSeq"), row.Get<string>("SummaryText"), row.Get<DateTimeOffset>("SummaryTime"));
        return new ChatMemory(string.IsNullOrEmpty(note) ? null : note, depth is null ? null : (int)depth, summary, row.Get<DateTimeOffset?>("MemoryUpdateTime"))
        {
            SummaryGeneration = row.Get<long?>("SummaryGeneration") ?? 0,
        };
    }

    /// <summary>The chat's memory by itself (null: no such chat), for readers that did not get it with the window.</summary>
    public static async Task<ChatMemory?> ReadAsync(ISpannerReader reader, string chatId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT ch.UserId, {MemoryColumns} FROM Chats ch WHERE ch.ChatId = @chatId").Add("chatId", chatId), cancellationToken);
        return rows.Count == 0 ? null : Read(rows[0]);
    }

    /// <summary>The memory of <paramref name="userId"/>'s chat, in one read; NOT_FOUND when the chat is missing or another user's.</summary>
    public static async Task<ChatMemory> ReadOwnedAsync(ISpannerReader reader, string userId, string chatId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT ch.UserId, {MemoryColumns} FROM Chats ch WHERE ch.ChatId = @chatId AND ch.UserId = @userId")
                .Add("chatId", chatId).Add("userId", userId),
            cancellationToken);
        return rows.Count == 0 ? throw ChatException.ChatNotFound(chatId) : Read(rows[0]);
    }
}
