using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Replies of one chat to generate in order (a group chat's speakers answer one after another,
/// each seeing the replies before it).
/// </summary>
public sealed record ReplyJob(IReadOnlyList<ReplyKey> Replies, DateTimeOffset QueuedAt);
