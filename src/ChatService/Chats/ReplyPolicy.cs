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
