using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>
/// The reply ledger in Spanner: owed replies (candidates with the sharded owed marker), their
/// leases, candidates, settling and cancelling. Ownership checks happen inside the same reads and
/// transactions that touch the data.
/// </summary>
internal sealed partial class ReplyLedger(
    SpannerGateway spanner,
    TurnCommits commits,
    IOptions<ChatOptions> chatOptions,
    TimeProvider timeProvider) : IReplyLedger
{
    private ChatOptions Options => chatOptions.Value;

    public async Task<ChatTurn?> GetReplyAsync(string userId, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        // Polled while a reply is generated on another replica: one query, ownership included.
        var reply = await spanner.ReadAsync((reader, ct) => ReadCandidateAsync(reader, chatId, seq, candidateId, ct), cancellationToken);
        return reply is not null && reply.OwnerId == userId ? reply.Turn : null;
    }

    // One snapshot: the chat, the reply's lease, the cast, the window and the persona all as of one moment,
    // even when a send, a settle or a takeover commits between the reads.
    public Task<ReplyContext?> LoadReplyContextAsync(ReplyKey key, int windowTurns, CancellationToken cancellationToken) =>
        spanner.SnapshotAsync((snapshot, ct) => ReadReplyContextAsync(snapshot, key, windowTurns, ct), cancellationToken);

    private static async Task<ReplyContext?> ReadReplyContextAsync(ISpannerReader snapshot, ReplyKey key, int windowTurns, CancellationToken cancellationToken)
    {
        if (await ReadChatAsync(snapshot, key.ChatId, cancellationToken) is not { } chat)
        {
            return null;
        }

        var reply = await ReadCandidateAsync(snapshot, key.ChatId, key.Seq, key.CandidateId, cancellationToken);
        if (reply?.Turn.CharacterId is not { } speakerId)
        {
            return null;
        }

        var cast = (await CharacterStore.ReadAsync(snapshot, chat.CharacterIds, cancellationToken)).ToDictionary(c => c.Id);
        if (!cast.TryGetValue(speakerId, out var speaker))
        {
            return null;
        }

        var window = await snapshot.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq < @seq AND t.HiddenTime IS NULL ORDER BY t.Seq DESC LIMIT @limit")
                .Add("chatId", key.ChatId)
                .Add("seq", key.Seq)
                .Add("limit", (long)windowTurns),
            cancellationToken);
        var oldestFirst = window.Select(r => ReadTurn(key.ChatId, r)).Reverse().ToList();

        // The pins come with the chat row this snapshot read anyway: a chat without pins costs nothing more.
        var pins = (chat.PinnedSeqs ?? []).Where(seq => seq < key.Seq).ToList();
        var inWindow = oldestFirst.ToDictionary(t => t.Seq);
        var deeper = pins.Where(seq => !inWindow.ContainsKey(seq)).ToList();
        var read = deeper.Count == 0 ? [] : await ReadShownTurnsAsync(snapshot, key.ChatId, deeper, cancellationToken);
        var pinned = pins
            .Select(seq => inWindow.TryGetValue(seq, out var turn) ? turn : read.FirstOrDefault(t => t.Seq == seq))
            .OfType<ChatTurn>()
            .ToList();
        var persona = await PersonaRows.ReadSpeakingAsAsync(snapshot, chat.UserId, key.ChatId, speakerId, cancellationToken);
        var lorebooks = await LorebookRows.ReadForReplyAsync(snapshot, key.ChatId, speakerId, cancellationToken);
        return new ReplyContext(chat.UserId, speaker, cast, oldestFirst, reply.Turn, reply.LeaseOwner) { Pinned = pinned, Persona = persona, Lorebooks = lorebooks };
    }

    public Task<IReadOnlyList<ChatTurn>> GetShownTurnsAsync(string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken) =>
        seqs.Count == 0
            ? Task.FromResult<IReadOnlyList<ChatTurn>>([])
            : spanner.ReadAsync((reader, ct) => ReadShownTurnsAsync(reader, chatId, seqs, ct), cancellationToken);

    /// <summary>The chat's turns with those numbers that are shown (not rewound or deleted), oldest first.</summary>
    private static async Task<IReadOnlyList<ChatTurn>> ReadShownTurnsAsync(ISpannerReader reader, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"{TurnSelect} WHERE t.ChatId = @chatId AND t.Seq IN UNNEST(@seqs) AND t.HiddenTime IS NULL ORDER BY t.Seq")
                .Add("chatId", chatId)
                .Add("seqs", seqs.ToList()),
            cancellationToken);
        return rows.Select(r => ReadTurn(chatId, r)).ToList();
    }
}
