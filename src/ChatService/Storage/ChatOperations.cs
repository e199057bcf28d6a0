using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// The ChatOperations table: what an operation that a retry could repeat with another effect (rewind,
/// edit, fork) recorded under its request id, once per chat. A request id names one operation: reading it
/// back as another kind is FAILED_PRECONDITION.
/// </summary>
internal static class ChatOperations
{
    /// <summary>How long a record is kept (the table's row deletion policy, schema version 3).</summary>
    internal static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    /// <summary>
    /// The SQL condition under which a record (aliased <paramref name="alias"/>) is still live: every statement that
    /// reads records uses it, so none answers from a record this class treats as gone. Binds <c>@operationDays</c>
    /// (<see cref="Bind"/>).
    /// </summary>
    internal static string LiveCondition(string alias) =>
        $"{alias}.CreateTime > TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL @operationDays DAY)";

    /// <summary>Binds the parameter <see cref="LiveCondition"/> reads.</summary>
    internal static SpannerStatement Bind(SpannerStatement statement) => statement.Add("operationDays", (long)Retention.TotalDays);

    /// <summary>
    /// What the request id recorded for an operation of <paramref name="kind"/>, and when (its commit time); null
    /// when nothing. A record past its retention is gone, whether or not the row deletion policy removed it yet: an
    /// interrupted fork whose record expired can never be resumed, so the deletion sweep may delete its chat.
    /// </summary>
    public static async Task<(byte[] Result, DateTimeOffset Recorded)?> ReadAsync(
        ISpannerReader reader, string chatId, string requestId, string kind, CancellationToken ct)
    {
        var rows = await reader.QueryListAsync(
            Bind(new SpannerStatement($"SELECT o.Kind, o.Result, o.CreateTime FROM ChatOperations o WHERE o.ChatId = @chatId AND o.RequestId = @requestId AND {LiveCondition("o")}")
                .Add("chatId", chatId).Add("requestId", requestId)),
            ct);
        if (rows.Count == 0)
        {
            return null;
        }

        if (rows[0].Get<string>("Kind") != kind)
        {
            throw new ChatException(ChatErrorKind.FailedPrecondition, $"request_id {requestId} was used for a different operation on this chat", "request_id");
        }

        return (rows[0].Get<byte[]>("Result"), rows[0].Get<DateTimeOffset>("CreateTime"));
    }

    /// <summary>
    /// Records the operation, in its own commit (after <see cref="ReadAsync"/> found none): a record past its
    /// retention that the row deletion policy has not removed yet is written over.
    /// </summary>
    public static void Insert(SpannerTransaction tx, string chatId, string requestId, string kind, byte[] result) =>
        tx.BufferWrite(Row(SpannerMutation.InsertOrUpdate("ChatOperations"), chatId, requestId, kind, result));

    /// <summary>Records the operation whether or not this commit (or an earlier one) already inserted it.</summary>
    public static void Upsert(SpannerTransaction tx, string chatId, string requestId, string kind, byte[] result) =>
        tx.BufferWrite(Row(SpannerMutation.InsertOrUpdate("ChatOperations"), chatId, requestId, kind, result));

    /// <summary>Replaces what a recorded operation says (its progress), keeping when it was recorded.</summary>
    public static void Update(SpannerTransaction tx, string chatId, string requestId, byte[] result) =>
        tx.BufferWrite(SpannerMutation.Update("ChatOperations").Set("ChatId", chatId).Set("RequestId", requestId).Set("Result", result));

    private static SpannerMutation Row(SpannerMutation mutation, string chatId, string requestId, string kind, byte[] result) =>
        mutation
            .Set("ChatId", chatId)
            .Set("RequestId", requestId)
            .Set("Kind", kind)
            .Set("Result", result)
            .Set("CreateTime", SpannerCommitTimestamp.Value);
}
