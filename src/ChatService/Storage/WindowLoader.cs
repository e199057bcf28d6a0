using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

/// <summary>Reads a chat's window from Spanner: what the history cache stores on a miss.</summary>
internal sealed class WindowLoader(SpannerGateway spanner)
{
    // The chat row and its newest turns (with their primary candidates) in a single read. The chat's columns
    // and its memory (the summary's subqueries) are read once, in the one-row derived table, not once per turn
    // row; the note and the summary go out on the first row only (the newest turn's, which LoadAsync reads
    // them from, or the one row of a chat without turns), not repeated on every turn row.
    private const string WindowSelect =
        $"""
        SELECT ch.UserId, ch.CharacterIds, ch.LastSeq, ch.PinnedSeqs,
               IF(t.Seq IS NULL OR t.Seq = ch.NewestSeq, ch.MemoryNote, NULL) AS MemoryNote, ch.MemoryDepth, ch.MemoryUpdateTime,
               IF(t.Seq IS NULL OR t.Seq = ch.NewestSeq, ch.LatestSummary, NULL) AS LatestSummary, ch.SummaryGeneration,
               {TurnColumns}, t.PrimaryCandidateId AS CandidateId
        FROM (
          SELECT ch.ChatId, ch.UserId, ch.CharacterIds, ch.NextSeq AS LastSeq, ch.PinnedSeqs, {ChatMemoryRows.MemoryColumns},
                 (SELECT MAX(n.Seq) FROM Turns n WHERE n.ChatId = ch.ChatId AND n.Seq > ch.NextSeq - @turns) AS NewestSeq
          FROM Chats ch
          WHERE ch.ChatId = @chatId
        ) ch
        LEFT JOIN Turns t ON t.ChatId = ch.ChatId AND t.Seq > ch.LastSeq - @turns
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
        ORDER BY t.Seq DESC
        """;

    /// <summary>
    /// The chat's newest <paramref name="turns"/> turns with its owner, cast, pins, memory note and summary, in one read; null if there is
    /// no such chat. Hidden turns come as markers, and so do turns Spanner has already purged (hidden
    /// long ago), so the window stays contiguous.
    /// </summary>
    public async Task<ChatWindow?> LoadAsync(string chatId, int turns, CancellationToken cancellationToken)
    {
        var window = new SpannerStatement(WindowSelect).Add("chatId", chatId).Add("turns", (long)turns);
        var rows = await spanner.ReadAsync((reader, ct) => reader.QueryListAsync(window, ct), cancellationToken);
        if (rows.Count == 0)
        {
            return null;
        }

        // The newest turn's row: the one that carries the memory (see WindowSelect).
        var first = rows[0];
        var lastSeq = first.Get<long>("LastSeq");
        var stored = rows.Where(r => !r.IsNull("Seq")).Select(r => ReadTurn(chatId, r)).ToDictionary(t => t.Seq);
        var newestFirst = new List<ChatTurn>((int)Math.Min(turns, lastSeq));
        for (var seq = lastSeq; seq > Math.Max(0, lastSeq - turns); seq--)
        {
            newestFirst.Add(stored.TryGetValue(seq, out var turn) ? turn : ChatTurn.HiddenMarker(chatId, seq, 0));
        }

        return new ChatWindow(chatId, first.Get<string>("UserId"), first.Get<List<string>>("CharacterIds"), lastSeq, newestFirst)
        {
            PinnedSeqs = first.Get<List<long>?>("PinnedSeqs") ?? [],
            Memory = ChatMemoryRows.Read(first),
        };
    }
}
