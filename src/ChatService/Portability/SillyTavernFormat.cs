using System.Globalization;
using System.Text.Json;
using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>
/// SillyTavern's chat file (.jsonl): a first line with the chat's metadata (user_name, character_name,
/// create_date, chat_metadata), then one line per message: name, is_user, is_system, send_date, mes
/// (the text shown), and for replies swipes (every candidate's text), swipe_id (the one shown) and
/// swipe_info (per swipe: send_date, gen_started, gen_finished, extra). The memory note travels as
/// SillyTavern's Author's Note (chat_metadata.note_prompt and note_depth).
/// </summary>
internal static class SillyTavernFormat
{
    /// <summary>The name user messages are written with: the persona a chat used is not part of the chat.</summary>
    public const string UserName = "User";

    public static byte[] Header(ArchivedChat chat) => JsonLine.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("user_name", UserName);
        w.WriteString("character_name", chat.Characters.Count == 0 ? "" : chat.Characters[0].Name);
        w.WriteString("create_date", CreateDate(chat.CreateTime));
        w.WriteStartObject("chat_metadata");
        if (chat.MemoryNote is { Length: > 0 } note)
        {
            w.WriteString("note_prompt", note);
            if (chat.MemoryDepth is { } depth)
            {
                w.WriteNumber("note_depth", depth);
            }
        }

        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static byte[] Message(ArchivedChat chat, ArchivedTurn turn) => JsonLine.Write(w =>
    {
        var isUser = turn.Role == AuthorRole.User;
        w.WriteStartObject();
        w.WriteString("name", isUser ? UserName : chat.NameOf(turn.CharacterId));
        w.WriteBoolean("is_user", isUser);
        w.WriteBoolean("is_system", false);
        w.WriteString("send_date", JsonLine.Time(turn.CreateTime));
        w.WriteString("mes", turn.ShownText);
        if (!isUser)
        {
            w.WriteStartArray("swipes");
            foreach (var candidate in turn.Candidates)
            {
                // A failed candidate as an empty text (what it wrote before failing is no reply); a filtered one has none.
                w.WriteStringValue(candidate.State is ReplyState.Failed or ReplyState.Filtered ? "" : candidate.Text ?? "");
            }

            w.WriteEndArray();
            w.WriteNumber("swipe_id", turn.Primary);
            w.WriteStartArray("swipe_info");
            foreach (var candidate in turn.Candidates)
            {
                w.WriteStartObject();
                w.WriteString("send_date", JsonLine.Time(candidate.CreateTime));
                w.WriteStartObject("extra");
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteStartObject("extra");
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>SillyTavern's create_date, e.g. 2026-12-06@17h22m53s.</summary>
    public static string CreateDate(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'@'HH'h'mm'm'ss's'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A SillyTavern date: ISO 8601 (what this service writes and recent SillyTavern versions too), a
    /// create_date, or a number of milliseconds since 1970; null for the humanized dates older versions
    /// wrote ("December 6, 2026 5:22pm"), which the import replaces with the time it runs.
    /// </summary>
    public static DateTimeOffset? ParseDate(ImportLine line, JsonElement value, string field)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var ms) && ms is > 0 and < 253_402_300_799_000)
        {
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var text = line.TextOf(value, field);
        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'@'HH'h'mm'm'ss's'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created))
        {
            return created;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : null;
    }
}
