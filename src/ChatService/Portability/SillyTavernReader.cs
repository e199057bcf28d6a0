using System.Text.Json;
using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>
/// Reads and checks a SillyTavern chat file (see <see cref="SillyTavernFormat"/>) line by line. Turns are
/// numbered from 1 in file order; a reply answers the user message before it. System messages
/// (is_system: true, SillyTavern's narrator and hidden notes) have no turn here and are counted.
/// </summary>
internal static class SillyTavernReader
{
    private const int MaxNameChars = 256;

    public static ParsedChat Read(ReadOnlyMemory<byte> data, ImportOptions options, int maxNoteChars, int maxUserBytes)
    {
        ArchivedChat? chat = null;
        var turns = new List<ArchivedTurn>();
        var skipped = 0;
        var candidates = 0;
        long? lastUserSeq = null;
        var fallbackTime = DateTimeOffset.UnixEpoch;
        foreach (var line in ImportFile.Lines(data))
        {
            if (chat is null)
            {
                chat = Header(line, maxNoteChars);
                fallbackTime = chat.CreateTime;
                continue;
            }

            if (line.Bool("is_system") == true)
            {
                skipped++;
                continue;
            }

            if (turns.Count == options.MaxTurns)
            {
                throw line.Fail("(the line)", $"is past the most messages a chat may bring (Import:MaxTurns, {options.MaxTurns})");
            }

            var turn = Message(line, turns.Count + 1, lastUserSeq, fallbackTime, options, maxUserBytes);

            candidates += turn.Candidates.Count;
            if (candidates > options.MaxCandidates)
            {
                throw line.Fail("(the line)", $"is past the most candidates a file may bring (Import:MaxCandidates, {options.MaxCandidates}): this line brings the file to {candidates}");
            }
            if (turn.Role == AuthorRole.User)
            {
                lastUserSeq = turn.Seq;
            }

            fallbackTime = turn.CreateTime;
            turns.Add(turn);
        }

        return chat is null
            ? throw ImportLine.Refuse(1, "user_name", "is required: the file is empty (its first line is the chat's metadata)")
            : new ParsedChat(chat, turns, skipped);
    }

    private static ArchivedChat Header(ImportLine line, int maxNoteChars)
    {
        if (line.Has("mes") || !(line.Has("user_name") || line.Has("character_name") || line.Has("chat_metadata")))
        {
            throw line.Fail("(the line)", "must be the chat's metadata (user_name, character_name, create_date, chat_metadata), not a message");
        }

        line.String("user_name", MaxNameChars);
        var characterName = line.String("character_name", MaxNameChars) ?? "";
        if (characterName.EnumerateRunes().FirstOrDefault(ChatTitles.Refused) is { Value: > 0 } refused)
        {
            // It may become the new chat's title (cut to the title's length then), which must hold no control, bidi or
            // invisible format characters.
            throw line.Fail("character_name", string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"holds U+{refused.Value:X4}, which a title may not hold (control characters, bidi controls and invisible format characters are refused)"));
        }

        var created = line.Root.TryGetProperty("create_date", out var date) ? SillyTavernFormat.ParseDate(line, date, "create_date") : null;
        string? note = null;
        int? depth = null;
        if (line.Object("chat_metadata") is { } metadata)
        {
            note = metadata.String("note_prompt", maxNoteChars);
            if (note is { Length: > 0 } && metadata.Root.TryGetProperty("note_depth", out var d) && d.ValueKind == JsonValueKind.Number
                && d.TryGetInt32(out var given) && given is >= 0 and <= MemoryOptions.MaxDepth)
            {
                depth = given;
            }
        }

        var characters = characterName.Length == 0 ? [] : new List<ArchivedCharacter> { new("", characterName) };
        return new ArchivedChat("", "", created ?? DateTimeOffset.UnixEpoch, characters, SpeakerSettings.Default, [], note is { Length: > 0 } ? note : null, depth);
    }

    private static ArchivedTurn Message(ImportLine line, long seq, long? lastUserSeq, DateTimeOffset fallbackTime, ImportOptions options, int maxUserBytes)
    {
        var name = line.String("name", MaxNameChars, required: true)!;
        var isUser = line.Bool("is_user", required: true)!.Value;
        var mes = line.String("mes", options.MaxTextChars, required: true)!;
        var sent = line.Root.TryGetProperty("send_date", out var date) ? SillyTavernFormat.ParseDate(line, date, "send_date") : null;
        var createTime = sent ?? fallbackTime;
        if (isUser)
        {
            line.WithinBytes(mes, "mes", maxUserBytes);
            return new ArchivedTurn(seq, AuthorRole.User, null, createTime, null, mes, false, 0, [], []) { SpeakerName = name, Line = line.Number };
        }

        var swipes = line.Array("swipes", options.MaxCandidatesPerTurn).Select((s, i) => line.StringOf(s, $"swipes[{i}]", options.MaxTextChars)!).ToList();
        var info = line.Array("swipe_info", options.MaxCandidatesPerTurn);
        var primary = 0;
        if (swipes.Count == 0)
        {
            swipes.Add(mes);
        }
        else
        {
            primary = (int)(line.Long("swipe_id", 0, swipes.Count - 1) ?? 0);

            // SillyTavern shows mes; it is the selected swipe's text unless edited after the swipe was made.
            swipes[primary] = mes;
        }

        var candidates = swipes.Select((text, i) =>
        {
            var at = i < info.Count && info[i].ValueKind == JsonValueKind.Object && info[i].TryGetProperty("send_date", out var d) ? SillyTavernFormat.ParseDate(line, d, $"swipe_info[{i}].send_date") : null;
            return new ArchivedCandidate("", ReplyState.Complete, text, false, null, null, at ?? createTime, null);
        }).ToList();
        return new ArchivedTurn(seq, AuthorRole.Character, null, createTime, lastUserSeq, null, false, primary, candidates, [])
        {
            SpeakerName = name,
            Line = line.Number,
        };
    }
}
