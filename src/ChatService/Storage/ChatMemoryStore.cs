using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// A chat's memory note (on the chat row) and its latest summary (ChatSummaries). The note is changed
/// in a transaction that checks the owner; the commit drops the chat's cached window, which carries the
/// memory to warm replies (<see cref="ChatMemoryRows"/>).
/// </summary>
internal sealed class ChatMemoryStore(SpannerGateway spanner, TurnCommits commits) : IChatMemoryStore
{
    public Task<ChatMemory> GetAsync(string userId, string chatId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ChatMemoryRows.ReadOwnedAsync(reader, userId, chatId, ct), cancellationToken);

    public async Task<ChatMemory> UpdateAsync(string userId, string chatId, string? note, int? depth, CancellationToken cancellationToken)
    {
        var commit = await commits.RunAsync(chatId, async (tx, _, ct) =>
        {
            var memory = await ChatMemoryRows.ReadOwnedAsync(tx, userId, chatId, ct);
            tx.BufferWrite(SpannerMutation.Update("Chats")
                .Set("ChatId", chatId)
                .Set("MemoryNote", string.IsNullOrEmpty(note) ? null : note)
                .Set("MemoryDepth", depth is null ? null : (long?)depth)
                .Set("MemoryUpdateTime", SpannerCommitTimestamp.Value));
            return memory;
        }, cancellationToken);

        // The window keeps the memory: it goes, and its next reader loads it afresh.
        await commits.ChatChangedAsync(commit);
        return commit.Result with { Note = string.IsNullOrEmpty(note) ? null : note, Depth = depth, UpdateTime = commit.Committed };
    }

    public Task<ChatMemory?> ReadAsync(string chatId, CancellationToken cancellationToken) =>
        spanner.ReadAsync((reader, ct) => ChatMemoryRows.ReadAsync(reader, chatId, ct), cancellationToken);

    /// <summary>
    /// In the transaction that hides or restores <paramref name="seqs"/>: discards every live summary whose
    /// span reaches the lowest of them (a rolling summary folds every turn up to its ThroughSeq, and all
    /// later versions fold it in turn), and the chat's summary job, whose span may too. Returns whether a
    /// summary was discarded (the cached window carries it: the caller drops the window then).
    /// </summary>
    public static async Task<bool> DiscardSummariesCoveringAsync(SpannerTransaction tx, string chatId, IReadOnlyList<long> seqs, CancellationToken ct)
    {
        if (seqs.Count == 0)
        {
            return false;
        }

        var lowest = seqs.Min();
        var rows = await tx.QueryListAsync(
            new SpannerStatement("SELECT Version FROM ChatSummaries WHERE ChatId = @chatId AND ThroughSeq >= @lowest AND DiscardTime IS NULL")
                .Add("chatId", chatId).Add("lowest", lowest),
            ct);
        foreach (var row in rows)
        {
            tx.BufferWrite(SpannerMutation.Update("ChatSummaries")
                .Set("ChatId", chatId).Set("Version", row.Get<long>("Version")).Set("DiscardTime", SpannerCommitTimestamp.Value));
        }

        // Any job of the chat, under way or waiting for a retry, goes too, whether or not a stored summary
        // was discarded: it may be based on a discarded version, or have read a span the change hid (a job
        // claimed past the newest summary). Its commit finds no claim and stores nothing; the next trigger
        // starts afresh from the newest surviving version and the turns shown now.
        tx.BufferWrite(SpannerMutation.Delete("SummaryJobs", SpannerKey.Of(chatId)));

        return rows.Count > 0;
    }
}
