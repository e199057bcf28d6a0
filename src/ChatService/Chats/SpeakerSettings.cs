namespace ChatService.Chats;

/// <summary>
/// How a group chat picks the characters that answer a user turn nobody was named for. Stored as its
/// number in Chats.SpeakerStrategy (NULL reads as <see cref="Rotation"/>, so chats from before the
/// column keep their behaviour).
/// </summary>
public enum SpeakerStrategy
{
    /// <summary>The default: the next <see cref="ChatOptions.GroupRepliesPerTurn"/> unmuted members after the rotation cursor.</summary>
    Rotation = 1,

    /// <summary>Every unmuted member, in cast order (SillyTavern's "list order").</summary>
    List = 2,

    /// <summary>Members the message mentions first, then each other one by its talkativeness (a seeded draw); never nobody.</summary>
    Natural = 3,
}

/// <summary>
/// A chat's speaker settings: its strategy and the members no strategy picks. They live on the Chats
/// row, which the recording transactions read anyway, so honouring them costs a send no read.
/// </summary>
public sealed record SpeakerSettings(SpeakerStrategy Strategy, IReadOnlyList<string> Muted)
{
    public static readonly SpeakerSettings Default = new(SpeakerStrategy.Rotation, []);

    public bool IsMuted(string characterId) => Muted.Contains(characterId);

    /// <summary>
    /// Refuses settings that do not fit the cast: a muted id that is not a member, or every member
    /// muted (no strategy could pick anyone). <paramref name="field"/> is the request's name of the muted list.
    /// </summary>
    public void CheckAgainst(IReadOnlyList<string> characterIds, string field)
    {
        for (var i = 0; i < Muted.Count; i++)
        {
            if (!characterIds.Contains(Muted[i]))
            {
                throw new ChatException(ChatErrorKind.InvalidArgument, $"{field}[{i}]: character {Muted[i]} is not in this chat", $"{field}[{i}]");
            }
        }

        if (characterIds.All(Muted.Contains))
        {
            throw new ChatException(ChatErrorKind.InvalidArgument,
                $"{field} mutes every character of the chat; at least one must stay unmuted to answer", field);
        }
    }
}

/// <summary>What the NATURAL strategy knows of a member: read with the chat by the recording transaction (see <see cref="Chat.Members"/>).</summary>
public sealed record CastMember(string CharacterId, string DisplayName, double Talkativeness);

/// <summary>The speaker settings an UpdateChat replaces.</summary>
[Flags]
public enum ChatSettingFields
{
    None = 0,
    SpeakerStrategy = 1 << 0,
    MutedCharacterIds = 1 << 1,
    All = SpeakerStrategy | MutedCharacterIds,
    /// <summary>The chat's title (not one of <see cref="All"/>: an empty mask keeps meaning the speaker settings).</summary>
    Title = 1 << 2,
    /// <summary>Whether the chat is archived (not one of <see cref="All"/> either).</summary>
    Archived = 1 << 3,
}

/// <summary>An UpdateChat: the new values of <paramref name="Fields"/> (the others are left as they are).</summary>
public sealed record ChatSettingsUpdate(string ChatId, ChatSettingFields Fields, SpeakerStrategy Strategy, IReadOnlyList<string> Muted)
{
    /// <summary>The new title, when <see cref="Fields"/> names it (checked: 1..200 characters, no control characters).</summary>
    public string? Title { get; init; }

    /// <summary>Whether the chat is to be archived, when <see cref="Fields"/> names it.</summary>
    public bool Archive { get; init; }

    /// <summary><paramref name="current"/> with the named fields replaced; muted ids kept in cast order.</summary>
    public SpeakerSettings ApplyTo(SpeakerSettings current, IReadOnlyList<string> characterIds) => new(
        (Fields & ChatSettingFields.SpeakerStrategy) != 0 ? Strategy : current.Strategy,
        (Fields & ChatSettingFields.MutedCharacterIds) != 0 ? [.. characterIds.Where(Muted.Contains)] : current.Muted);
}
