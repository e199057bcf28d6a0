using System.Diagnostics;
using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Replies of one chat to generate in order (a group chat's speakers answer one after another,
/// each seeing the replies before it).
/// </summary>
/// <param name="Caller">
/// The trace context of the request that owes the replies, captured when the job is queued, so the
/// generation (which runs after the request has returned) continues the request's trace. Default
/// (no caller) for replies the recovery sweeper took over: those start a trace of their own.
/// </param>
public sealed record ReplyJob(IReadOnlyList<OwnedReply> Replies, DateTimeOffset QueuedAt, ActivityContext Caller = default);
