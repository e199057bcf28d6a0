using ChatService.Chats;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    /// <summary>The settings an UpdateChat mask may name, by their proto names.</summary>
    private static readonly Dictionary<string, ChatSettingFields> ChatMaskPaths = new(StringComparer.Ordinal)
    {
        ["speaker_strategy"] = ChatSettingFields.SpeakerStrategy,
        ["muted_character_ids"] = ChatSettingFields.MutedCharacterIds,
        ["title"] = ChatSettingFields.Title,
        ["archived"] = ChatSettingFields.Archived,
    };

    /// <summary>The other fields of Chat: UpdateChat does not change them (the service sets them, or other RPCs do).</summary>
    private static readonly HashSet<string> OtherChatFields = new(
        ["chat_id", "character_ids", "create_time", "last_active_time", "last_message_preview", "last_seq", "pinned_seqs", "forked_from", "persona_id", "archive_time"],
        StringComparer.Ordinal);

    /// <summary>A CreateChat's speaker settings: a known strategy (unspecified is ROTATION), muted ids well formed and distinct (membership is the domain's check).</summary>
    public SpeakerSettings ChatSpeakers(V1.SpeakerStrategy strategy, IEnumerable<string> muted, string prefix = "") =>
        new(Strategy(strategy, prefix + "speaker_strategy"), IdList(muted, prefix + "muted_character_ids", 0, Options.MaxCharactersPerChat));

    /// <summary>
    /// An UpdateChat: the chat's id, the settings the mask names (both when it is empty; any other path,
    /// a field of Chat or not, is refused naming update_mask) and their values, each checked as CreateChat checks them.
    /// </summary>
    public ChatSettingsUpdate ChatUpdate(V1.UpdateChatRequest request)
    {
        if (request.Chat is not { } chat)
        {
            throw ApiErrors.InvalidArgument("chat", "chat is required: its chat_id names the chat, its speaker settings are the new values");
        }

        var id = Id(chat.ChatId, "chat.chat_id");
        var fields = ChatSettingFields.None;
        foreach (var path in request.UpdateMask?.Paths ?? [])
        {
            if (ChatMaskPaths.TryGetValue(path, out var field))
            {
                fields |= field;
                continue;
            }

            var shown = path.Length <= 64 ? path : path[..64] + "…";
            ApiErrors.ThrowInvalidArgument("update_mask", OtherChatFields.Contains(path)
                ? $"update_mask names {shown}, which UpdateChat does not change (it changes speaker_strategy, muted_character_ids, title and archived)"
                : $"update_mask names '{shown}', which is not a setting of Chat (paths are speaker_strategy, muted_character_ids, title and archived)");
        }

        if (fields == ChatSettingFields.None)
        {
            fields = ChatSettingFields.All;
        }

        var strategy = (fields & ChatSettingFields.SpeakerStrategy) != 0 ? Strategy(chat.SpeakerStrategy, "chat.speaker_strategy") : SpeakerStrategy.Rotation;
        var muted = (fields & ChatSettingFields.MutedCharacterIds) != 0
            ? IdList(chat.MutedCharacterIds, "chat.muted_character_ids", 0, Options.MaxCharactersPerChat)
            : [];
        return new ChatSettingsUpdate(id, fields, strategy, muted)
        {
            Title = (fields & ChatSettingFields.Title) != 0 ? ChatTitle(chat.Title, "chat.title") : null,
            Archive = chat.Archived,
        };
    }

    /// <summary>A title a user sets (UpdateChat): it must show something (<see cref="ChatTitles.ShowsNothing"/>; unlike CreateChat, empty is not "no title" here).</summary>
    private static string ChatTitle(string title, string field)
    {
        if (ChatTitles.ShowsNothing(title))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must not be empty when update_mask names title");
        }

        if (ChatTitles.Problem(title) is { } problem)
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} {problem}; a title is {ChatTitles.Rule}");
        }

        return title;
    }

    private static SpeakerStrategy Strategy(V1.SpeakerStrategy strategy, string field) => strategy switch
    {
        V1.SpeakerStrategy.Unspecified or V1.SpeakerStrategy.Rotation => SpeakerStrategy.Rotation,
        V1.SpeakerStrategy.List => SpeakerStrategy.List,
        V1.SpeakerStrategy.Natural => SpeakerStrategy.Natural,
        _ => throw ApiErrors.InvalidArgument(field, $"{field} {(int)strategy} is not a known strategy (SPEAKER_STRATEGY_ROTATION, _LIST or _NATURAL)"),
    };

    /// <summary>A talkativeness as sent: <see cref="Character.DefaultTalkativeness"/> when unset, else a number from 0 to 1.</summary>
    private static double Talkativeness(bool set, double value, string field)
    {
        if (!set)
        {
            return Chats.Character.DefaultTalkativeness;
        }

        if (!(value is >= 0 and <= 1))
        {
            ApiErrors.ThrowInvalidArgument(field, $"{field} must be a number from 0 to 1, got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        return value;
    }
}
