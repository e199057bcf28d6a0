using ChatService.Chats;

namespace ChatService.Storage;

/// <summary>Where a newly owed reply goes in the owed-reply index, and the lease it starts under.</summary>
internal readonly record struct OwedLease(long Shard, string Owner, DateTimeOffset Until)
{
    /// <summary>A reply of the chat owed from <paramref name="now"/>, leased to this replica for the configured time.</summary>
    public static OwedLease ForThisReplica(string chatId, ChatOptions options, DateTimeOffset now) =>
        new(Ids.Shard(chatId, options.OwedReplyShards), options.ReplicaId, now + options.ReplyLease);
}
