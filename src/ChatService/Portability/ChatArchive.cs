using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>
/// A chat as an export carries it and an import reads it back, whatever the file format: the chat's
/// settings, and its shown turns (<see cref="ArchivedTurn"/>) written or read one at a time so a big
/// chat never sits whole in memory on export.
/// </summary>
public sealed record ArchivedChat(
    string ChatId,
    string Title,
    DateTimeOffset CreateTime,
    IReadOnlyList<ArchivedCharacter> Characters,
    SpeakerSettings Speakers,
    IReadOnlyList<long> PinnedSeqs,
    string? MemoryNote,
    int? MemoryDepth)
{
    /// <summary>The name a turn of <paramref name="characterId"/> is shown with ("" when the character is not in the cast).</summary>
    public string NameOf(string? characterId) => Characters.FirstOrDefault(c => c.CharacterId == characterId)?.Name ?? "";
}

/// <summary>A member of an archived chat's cast: its id where it was exported, and its display name then.</summary>
public sealed record ArchivedCharacter(string CharacterId, string Name);

/// <summary>
/// One shown turn with everything it had: a user turn's text, or a character turn's candidates
/// (oldest first) and which of them was shown (<see cref="Primary"/>, an index into
/// <see cref="Candidates"/>); the texts it had before edits. On import, <see cref="SpeakerName"/> is the
/// name the file gave the speaker (what maps it to a character of the new chat) and <see cref="Line"/>
/// the file's line, for errors.
/// </summary>
public sealed record ArchivedTurn(
    long Seq,
    AuthorRole Role,
    string? CharacterId,
    DateTimeOffset CreateTime,
    long? ReplyToSeq,
    string? Text,
    bool Edited,
    int Primary,
    IReadOnlyList<ArchivedCandidate> Candidates,
    IReadOnlyList<ArchivedRevision> Revisions)
{
    public string? SpeakerName { get; init; }

    public int Line { get; init; }

    /// <summary>What the turn shows: a user turn's text, or its primary candidate's.</summary>
    public string ShownText => Role == AuthorRole.User ? Text ?? "" : Candidates.Count == 0 ? "" : Candidates[Primary].Text ?? "";
}

/// <summary>
/// A candidate reply ("swipe") with its outcome, whether the user edited it, and the chat owner's rating of it;
/// <see cref="FilterCategory"/> the category moderation withheld a filtered one for (it has no text).
/// </summary>
public sealed record ArchivedCandidate(
    string CandidateId,
    ReplyState State,
    string? Text,
    bool Edited,
    string? FailureCode,
    string? FailureReason,
    DateTimeOffset CreateTime,
    TurnRating? Rating)
{
    public string? FilterCategory { get; init; }
}

/// <summary>A text the turn showed before an edit; <see cref="Candidate"/> the index of the candidate it belonged to (null for a user turn).</summary>
public sealed record ArchivedRevision(long Revision, int? Candidate, string Text, DateTimeOffset EditTime);
