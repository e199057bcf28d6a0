namespace ChatService.Chats;

/// <summary>
/// Decides which characters answer a user turn. In a one-to-one chat the one character does.
/// In a group chat the characters the user named answer first, in the order named; otherwise
/// the chat's rotation picks the next ones, so every character gets its say.
/// </summary>
public static class ReplyPolicy
{
    /// <summary>
    /// Most turns one ContinueChat request may add. Storage finds a repeated request's turns by
    /// this many derived request ids, so the API limit and that lookup must agree.
    /// </summary>
    public const int MaxContinuationTurns = 10;

    /// <summary>
    /// Who answers a user turn: the characters the user named (each must be in the chat), else the
    /// rotation's next ones.
    /// </summary>
    public static SpeakerChoice ForUserTurn(IReadOnlyList<string> named, int repliesPerTurn) => chat =>
    {
        foreach (var (id, index) in named.Select((id, i) => (id, i)))
        {
            if (!chat.CharacterIds.Contains(id))
            {
                throw new ChatException(ChatErrorKind.InvalidArgument,
                    $"reply_character_ids[{index}]: character {id} is not in this chat", $"reply_character_ids[{index}]");
            }
        }

        var (speakers, nextCursor) = Pick(chat.CharacterIds, chat.RotationCursor, named, repliesPerTurn);
        return new SpeakerPlan(speakers, nextCursor);
    };

    /// <summary>Who speaks in each of <paramref name="turns"/> turns the characters of a group chat add among themselves.</summary>
    public static SpeakerChoice ForContinuation(int turns) => chat =>
    {
        if (chat.CharacterIds.Count < 2)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, "only group chats can continue without the user; this chat has one character");
        }

        var cursor = chat.RotationCursor;
        var speakers = new List<string>(turns);
        for (var i = 0; i < turns; i++)
        {
            (var next, cursor) = Pick(chat.CharacterIds, cursor, [], 1);
            speakers.Add(next[0]);
        }

        return new SpeakerPlan(speakers, cursor);
    };

    /// <summary>The speakers for this turn and the rotation cursor to store for the next.</summary>
    public static (IReadOnlyList<string> Speakers, long NextCursor) Pick(
        IReadOnlyList<string> characterIds, long rotationCursor, IReadOnlyList<string> named, int repliesPerTurn)
    {
        if (characterIds.Count == 0)
        {
            return ([], rotationCursor);
        }

        if (named.Count > 0)
        {
            // Named speakers do not move the rotation: it resumes where it was.
            return (named.Distinct(StringComparer.Ordinal).ToList(), rotationCursor);
        }

        var count = Math.Min(repliesPerTurn, characterIds.Count);
        var speakers = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            speakers.Add(characterIds[(int)((rotationCursor + i) % characterIds.Count)]);
        }

        return (speakers, (rotationCursor + count) % characterIds.Count);
    }
}
