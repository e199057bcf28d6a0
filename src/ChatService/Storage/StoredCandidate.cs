using ChatService.Chats;

namespace ChatService.Storage;

/// <summary>
/// A turn as shown with one of its candidates, that candidate's place in the owed-reply ledger
/// (owed or settled, and whose lease), whether it is the turn's primary candidate, and the chat's owner.
/// </summary>
internal sealed record StoredCandidate(ChatTurn Turn, bool Owed, string? LeaseOwner, DateTimeOffset? LeaseUntil, bool IsPrimary, string OwnerId)
{
    public SettledReply AsReply() => new(Turn, IsPrimary);
}
