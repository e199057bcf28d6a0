using System.Globalization;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The columns of a chat's memory (note, depth, latest live summary) and their mapping, for any query over <c>Chats ch</c>.</summary>
internal static class ChatMemoryRows
{
    // The latest summary that was not discarded, as one scalar subquery on the chat row that packs its
    // fields into one string ("version|throughSeq|createMicros|text": the text last, so it may hold the
    // separator), since the client reads no STRUCT: the window's one read carries it (ChatSummaries is
    // interleaved in Chats, so this reads the chat's own split). With it, the highest version ever.
    public const string MemoryColumns =
        "ch.MemoryNote, ch.MemoryDepth, ch.MemoryUpdateTime, " +
        "(SELECT CONCAT(CAST(s.Version AS STRING), '|', CAST(s.ThroughSeq AS STRING), '|', CAST(UNIX_MICROS(s.CreateTime) AS STRING), '|', s.Text) " +
        "FROM ChatSummaries s WHERE s.ChatId = ch.ChatId AND s.DiscardTime IS NULL ORDER BY s.Version DESC LIMIT 1) AS LatestSummary, " +
        "(SELECT MAX(s.Version) FROM ChatSummaries s WHERE s.ChatId = ch.ChatId) AS SummaryGeneration";

    /// <summary>The chat's memory, from a row that has <see cref="MemoryColumns"/>.</summary>
    public static ChatMemory Read(SpannerRow row)
    {
        var note = row.Get<string?>("MemoryNote");
        var depth = row.Get<long?>("MemoryDepth");
        var summary = row.Get<string?>("LatestSummary") is { } packed ? Unpack(packed) : null;
        return new ChatMemory(string.IsNullOrEmpty(note) ? null : note, depth is null ? null : (int)depth, summary, row.Get<DateTimeOffset?>("MemoryUpdateTime"))
        {
            SummaryGeneration = row.Get<long?>("SummaryGeneration") ?? 0,
        };
    }

    /// <summary>A summary as <see cref="MemoryColumns"/> packs it.</summary>
    private static ChatSummary Unpack(string packed)
    {
        var fields = packed.Split('|', 4);
        return new ChatSummary(
            long.Parse(fields[0], CultureInfo.InvariantCulture),
            long.Parse(fields[1], CultureInfo.InvariantCulture),
            fields[3],
            DateTimeOffset.UnixEpoch.AddTicks(long.Parse(fields[2], CultureInfo.InvariantCulture) * TimeSpan.TicksPerMicrosecond));
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
