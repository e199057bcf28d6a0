using System.Globalization;
using System.Text;
using ChatService.Chats;
using Spanner.Client;
using static ChatService.Storage.ChatRows;

namespace ChatService.Storage;

internal sealed partial class ChatStore
{
    /// <summary>
    /// Turns copied by one fork transaction: a turn and its candidate are about 20 mutations, so a
    /// batch stays well inside Spanner's 80,000 mutations per commit.
    /// </summary>
    internal const int ForkBatch = 500;

    private const string ForkKind = "fork";

    /// <summary>
    /// A new chat of the user with the source's characters and its shown turns up to <paramref name="atSeq"/>,
    /// each with its primary candidate only, renumbered from 1. Copied in batches (<see cref="ForkBatch"/> turns
    /// each) into a chat that belongs to nobody until the last one commits, so no one can list or read it half
    /// copied; the progress is recorded under the request id on the source chat, and repeating the request
    /// resumes an interrupted fork or returns the finished one.
    /// </summary>
    public async Task<Chat> ForkAsync(string userId, string chatId, long atSeq, string requestId, string? title, CancellationToken cancellationToken)
    {
        var (progress, _) = await spanner.TransactionAsync((tx, ct) => StartForkAsync(tx, userId, chatId, atSeq, requestId, title, ct), cancellationToken);
        while (!progress.Done)
        {
            progress = await CopyForkBatchAsync(userId, chatId, requestId, cancellationToken);
        }

        return await GetChatAsync(userId, progress.ChatId, cancellationToken)
            ?? throw new ChatException(ChatErrorKind.Unavailable, "the forked chat is not readable yet; retry with the same request_id");
    }

    private async Task<ForkProgress> StartForkAsync(
        SpannerTransaction tx, string userId, string chatId, long atSeq, string requestId, string? title, CancellationToken ct)
    {
        var source = await ReadOwnedChatAsync(tx, userId, chatId, ct) ?? throw ChatException.ChatNotFound(chatId);
        if ((await ReadForkRecordAsync(tx, chatId, requestId, ct))?.Progress is { } recorded)
        {
            if (recorded.AtSeq != atSeq)
            {
                throw new ChatException(ChatErrorKind.FailedPrecondition, $"request_id {requestId} was used for a fork at turn {recorded.AtSeq}, not {atSeq}", "request_id");
            }

            return recorded;
        }

        // A fork is a new chat: like CreateChat, it starts only with characters that exist, are not
        // deleted and the user can still see (one made private since the original began is NOT_FOUND).
        await CharacterStore.CheckOpenToAsync(tx, userId, source.CharacterIds, ct);

        var at = await tx.QueryListAsync(
            new SpannerStatement("SELECT HiddenTime FROM Turns WHERE ChatId = @chatId AND Seq = @seq").Add("chatId", chatId).Add("seq", atSeq), ct);
        if (at.Count == 0)
        {
            throw ChatException.TurnNotFound(chatId, atSeq);
        }

        if (!at[0].IsNull("HiddenTime"))
        {
            throw ChatException.TurnHidden(chatId, atSeq);
        }

        // What the chat remembers comes along: its memory note, its lorebooks, and its latest summary when that
        // covers no turn after the fork point (one that does would tell the fork of turns it does not have) and
        // at least one shown turn (one whose turns are all hidden would summarize none of the fork's).
        var remembered = await ReadForkMemoryAsync(tx, chatId, atSeq, ct);

        // Nobody owns the new chat until its last turn is copied: ListChats cannot show it and no
        // read can reach it (an empty user id is never a caller's).
        var fork = new ForkProgress(Ids.New(), atSeq, CopiedThrough: 0, Done: false);
        var forkTitle = !string.IsNullOrEmpty(title) ? title
            : !ChatTitles.ShowsNothing(source.Title) ? source.Title
            : await CastTitleAsync(tx, source.CharacterIds, ct);
        tx.BufferWrite(SetSpeakers(SpannerMutation.Insert("Chats"), source.Speakers ?? SpeakerSettings.Default)
            .Set("MemoryNote", remembered.Note)
            .Set("MemoryDepth", remembered.Depth)
            .Set("MemoryUpdateTime", remembered.NoteTime)
            .Set("ChatId", fork.ChatId)
            .Set("UserId", "")
            .Set("Title", forkTitle)
            .Set("CharacterIds", source.CharacterIds.ToList())
            .Set("NextSeq", 0L)
            .Set("RotationCursor", source.RotationCursor)
            .Set("LastMessagePreview", "")
            .Set("ForkedFromChatId", chatId)
            .Set("ForkedFromSeq", atSeq)
            .Set("PersonaId", source.PersonaId)
            .Set("CreateTime", SpannerCommitTimestamp.Value)
            .Set("LastActiveTime", SpannerCommitTimestamp.Value));
        ChatOperations.Insert(tx, chatId, requestId, ForkKind, fork.ToBytes());
        foreach (var lorebookId in remembered.LorebookIds)
        {
            tx.BufferWrite(SpannerMutation.Insert("ChatLorebooks")
                .Set("ChatId", fork.ChatId)
                .Set("LorebookId", lorebookId)
                .Set("AttachTime", SpannerCommitTimestamp.Value));
        }

        if (remembered.Summary is { } summary)
        {
            // The fork's first version: it covers the fork's turns 1 to the number the source's last covered
            // turn gets there (the fork renumbers its shown turns from 1, and a live summary covers only shown ones).
            tx.BufferWrite(SpannerMutation.Insert("ChatSummaries")
                .Set("ChatId", fork.ChatId)
                .Set("Version", 1L)
                .Set("BaseVersion", 0L)
                .Set("FromSeq", 1L)
                .Set("ThroughSeq", summary.ShownThrough)
                .Set("Text", summary.Text)
                .Set("TurnCount", summary.ShownThrough)
                .Set("Replica", summary.Replica)
                .Set("CreateTime", SpannerCommitTimestamp.Value));
        }

        return fork;
    }

    /// <summary>What a fork copies of its source's memory: the note, the attached books and the latest live summary (null when the fork is not to have it).</summary>
    private sealed record ForkMemory(string? Note, long? Depth, DateTimeOffset? NoteTime, IReadOnlyList<string> LorebookIds, ForkSummary? Summary);

    /// <summary>The source's latest live summary, with how many shown turns it covers (its last one's number in the fork).</summary>
    private sealed record ForkSummary(long ThroughSeq, long ShownThrough, string Text, string Replica);

    private static async Task<ForkMemory> ReadForkMemoryAsync(SpannerTransaction tx, string chatId, long atSeq, CancellationToken ct)
    {
        var rows = await tx.QueryListAsync(
            new SpannerStatement(
                "SELECT ch.MemoryNote, ch.MemoryDepth, ch.MemoryUpdateTime, " +
                "ARRAY(SELECT l.LorebookId FROM ChatLorebooks l WHERE l.ChatId = ch.ChatId ORDER BY l.LorebookId) AS LorebookIds " +
                "FROM Chats ch WHERE ch.ChatId = @chatId")
                .Add("chatId", chatId),
            ct);
        var summaries = await tx.QueryListAsync(
            new SpannerStatement(
                "SELECT s.ThroughSeq, s.Text, s.Replica " +
                "FROM ChatSummaries s WHERE s.ChatId = @chatId AND s.DiscardTime IS NULL ORDER BY s.Version DESC LIMIT 1")
                .Add("chatId", chatId),
            ct);
        var row = rows[0];
        ForkSummary? summary = null;
        if (summaries.Count > 0 && summaries[0].Get<long>("ThroughSeq") is var through && through <= atSeq)
        {
            // Its shown turns are counted only when the fork is to have it: a summary past the fork point is
            // left behind without reading the turns it covers.
            var shown = (await tx.QueryListAsync(
                new SpannerStatement("SELECT COUNT(*) AS Shown FROM Turns WHERE ChatId = @chatId AND Seq <= @through AND HiddenTime IS NULL")
                    .Add("chatId", chatId).Add("through", through),
                ct))[0].Get<long>("Shown");
            if (shown > 0)
            {
                summary = new ForkSummary(through, shown, summaries[0].Get<string>("Text"), summaries[0].Get<string>("Replica"));
            }
        }

        return new ForkMemory(
            row.Get<string?>("MemoryNote"),
            row.Get<long?>("MemoryDepth"),
            row.Get<DateTimeOffset?>("MemoryUpdateTime"),
            row.Get<List<string>?>("LorebookIds") ?? [],
            summary);
    }

    /// <summary>
    /// Copies the next batch of the source's shown turns as they were when the fork began (a snapshot at
    /// the record's commit time, so turns deleted, restored or rewound in the source meanwhile change
    /// nothing of the copy or its numbering); the last batch hands the chat to its user.
    /// </summary>
    private async Task<ForkProgress> CopyForkBatchAsync(string userId, string chatId, string requestId, CancellationToken cancellationToken)
    {
        var (fork, startedAt) = await spanner.ReadAsync((reader, ct) => ReadForkRecordAsync(reader, chatId, requestId, ct), cancellationToken)
            ?? throw new ChatException(ChatErrorKind.Unavailable, "the fork's record is gone; fork again with a new request_id");
        if (fork.Done)
        {
            return fork;
        }

        var (turns, answered, forkedEnds) = await spanner.SnapshotAtAsync(startedAt, async (snapshot, ct) =>
        {
            var rows = await snapshot.QueryListAsync(
                new SpannerStatement($"{ForkTurnSelect} WHERE t.ChatId = @chatId AND t.Seq > @after AND t.Seq <= @at AND t.HiddenTime IS NULL ORDER BY t.Seq LIMIT @limit")
                    .Add("chatId", chatId).Add("after", fork.CopiedThrough).Add("at", fork.AtSeq).Add("limit", (long)ForkBatch),
                ct);
            var batch = rows.Select(r => ReadTurn(chatId, r)).ToList();
            var ends = rows.ToDictionary(r => r.Get<long>("Seq"), r => new ForkedEnd(r.Get<string?>("FilterCategory")));
            var inBatch = batch.Select(t => t.Seq).ToHashSet();

            // Answers to turns of earlier batches: their number in the fork, counted in the same snapshot.
            var earlier = new Dictionary<long, long?>();
            foreach (var seq in batch.Select(t => t.ReplyToSeq).OfType<long>().Where(seq => !inBatch.Contains(seq)).Distinct())
            {
                earlier[seq] = await RenumberAsync(snapshot, chatId, seq, ct);
            }

            return (batch, earlier, ends);
        }, cancellationToken);

        var (progress, _) = await spanner.TransactionAsync(async (tx, ct) =>
        {
            var current = await ReadForkRecordAsync(tx, chatId, requestId, ct);
            if (current?.Progress is not { Done: false } now || now.CopiedThrough != fork.CopiedThrough)
            {
                // Another attempt copied this batch meanwhile: go on from where it got.
                return current?.Progress ?? throw new ChatException(ChatErrorKind.Unavailable, "the fork's record is gone; fork again with a new request_id");
            }

            var target = await ReadChatAsync(tx, fork.ChatId, ct)
                ?? throw new ChatException(ChatErrorKind.Unavailable, "the forked chat is gone; fork again with a new request_id");
            return WriteForkBatch(tx, userId, chatId, requestId, fork, target.LastSeq, turns, answered, forkedEnds);
        }, cancellationToken);
        return progress;
    }

    /// <summary>The fork's turns as history reads them, with their primary candidate's filter category and failure code.</summary>
    private const string ForkTurnSelect =
        $"""
        SELECT {TurnColumns}, t.PrimaryCandidateId AS CandidateId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
        """;

    /// <summary>How a copied candidate ended beyond its state and failure code: its filter category.</summary>
    private sealed record ForkedEnd(string? FilterCategory);

    private static ForkProgress WriteForkBatch(
        SpannerTransaction tx, string userId, string chatId, string requestId, ForkProgress fork, long copied, List<ChatTurn> turns, Dictionary<long, long?> answered,
        Dictionary<long, ForkedEnd> ends)
    {
        // Source numbers to new ones: this batch's turns follow the ones already copied.
        var next = copied;
        var renumbered = new Dictionary<long, long>();
        foreach (var turn in turns)
        {
            renumbered[turn.Seq] = ++next;
        }

        foreach (var turn in turns)
        {
            long? replyTo = null;
            if (turn.ReplyToSeq is { } target)
            {
                replyTo = renumbered.TryGetValue(target, out var known) ? known : answered.GetValueOrDefault(target);
            }

            var seq = renumbered[turn.Seq];
            var candidateId = turn.Role == AuthorRole.Character ? Ids.New() : null;
            tx.BufferWrite(SpannerMutation.Insert("Turns")
                .Set("ChatId", fork.ChatId)
                .Set("Seq", seq)
                .Set("AuthorRole", (long)turn.Role)
                .Set("CharacterId", turn.CharacterId)
                .Set("Text", turn.Role == AuthorRole.User ? turn.Text : null)
                .Set("ReplyToSeq", replyTo)
                .Set("PrimaryCandidateId", candidateId)
                .Set("CandidateCount", candidateId is null ? 0L : 1L)
                .Set("CreateTime", turn.CreateTime)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
            if (candidateId is not null)
            {
                // A reply still being generated in the source is copied as it stood, stopped.
                // A filtered (or withheld) candidate keeps its category and failure code: the copy is as withheld as the source.
                var end = ends.GetValueOrDefault(turn.Seq);
                var (state, reason, category, code) = turn.State is ReplyState.Pending or ReplyState.Streaming
                    ? (ReplyState.Cancelled, "the chat was forked before this reply finished", (string?)null, FailureCodeColumn.ToColumn(ReplyFailureCode.Cancelled))
                    : (turn.State, turn.FailureReason, end?.FilterCategory, FailureCodeColumn.ToColumn(turn.FailureCode));
                tx.BufferWrite(SpannerMutation.Insert("Candidates")
                    .Set("ChatId", fork.ChatId)
                    .Set("Seq", seq)
                    .Set("CandidateId", candidateId)
                    .Set("State", (long)state)
                    .Set("Text", turn.Text)
                    .Set("FailureReason", reason)
                    .Set("FilterCategory", category)
                    .Set("FailureCode", code)
                    .Set("CreateTime", turn.CreateTime)
                    .Set("UpdateTime", SpannerCommitTimestamp.Value));
            }
        }

        var done = turns.Count < ForkBatch;
        var update = SpannerMutation.Update("Chats").Set("ChatId", fork.ChatId).Set("NextSeq", next);
        if (turns.Count > 0)
        {
            update.Set("LastMessagePreview", Text.Preview(turns[^1].Text));
        }

        if (done)
        {
            update.Set("UserId", userId).Set("LastActiveTime", SpannerCommitTimestamp.Value);
        }

        tx.BufferWrite(update);
        var progress = fork with { CopiedThrough = turns.Count > 0 ? turns[^1].Seq : fork.AtSeq, Done = done };
        ChatOperations.Update(tx, chatId, requestId, progress.ToBytes());
        return progress;
    }

    /// <summary>
    /// A title of the cast's names, as CreateChat gives a chat without one: for a fork without a title of a source
    /// whose stored title shows nothing (one from before such titles were refused), which would copy the blank.
    /// </summary>
    private static async Task<string> CastTitleAsync(ISpannerReader reader, IReadOnlyList<string> characterIds, CancellationToken ct)
    {
        var names = (await reader.QueryListAsync(
                new SpannerStatement("SELECT CharacterId, DisplayName FROM Characters WHERE CharacterId IN UNNEST(@ids)")
                    .Add("ids", SpannerType.ArrayOf(SpannerType.String), characterIds.ToList()),
                ct))
            .ToDictionary(r => r.Get<string>("CharacterId"), r => r.Get<string>("DisplayName"), StringComparer.Ordinal);
        return ChatTitles.OfCast(characterIds.Where(names.ContainsKey).Select(id => names[id]));
    }

    /// <summary>The number a source turn has in the fork: how many shown turns up to it there are (null when it is hidden).</summary>
    private static async Task<long?> RenumberAsync(ISpannerReader reader, string chatId, long seq, CancellationToken ct)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement(
                "SELECT (SELECT HiddenTime FROM Turns WHERE ChatId = @chatId AND Seq = @seq) AS HiddenTime, " +
                "(SELECT COUNT(*) FROM Turns WHERE ChatId = @chatId AND Seq <= @seq AND HiddenTime IS NULL) AS Shown")
                .Add("chatId", chatId).Add("seq", seq),
            ct);
        return rows[0].IsNull("HiddenTime") ? rows[0].Get<long>("Shown") : null;
    }

    /// <summary>The fork recorded under the request id and when it began (its record's commit time), or null.</summary>
    private static async Task<(ForkProgress Progress, DateTimeOffset StartedAt)?> ReadForkRecordAsync(ISpannerReader reader, string chatId, string requestId, CancellationToken ct) =>
        await ChatOperations.ReadAsync(reader, chatId, requestId, ForkKind, ct) is { } recorded
            ? (ForkProgress.FromBytes(recorded.Result), recorded.Recorded)
            : null;

    /// <summary>A fork's record on its source chat: the new chat, the last turn to copy, the last one copied, and whether it is finished.</summary>
    private sealed record ForkProgress(string ChatId, long AtSeq, long CopiedThrough, bool Done)
    {
        public byte[] ToBytes() => Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{ChatId}:{AtSeq}:{CopiedThrough}:{(Done ? 1 : 0)}"));

        public static ForkProgress FromBytes(byte[] bytes)
        {
            var parts = Encoding.UTF8.GetString(bytes).Split(':');
            return new ForkProgress(parts[0], long.Parse(parts[1], CultureInfo.InvariantCulture), long.Parse(parts[2], CultureInfo.InvariantCulture), parts[3] == "1");
        }
    }
}
