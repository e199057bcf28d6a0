using System.Globalization;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>The columns and queries of chats and turns that every store reads, and their mapping to the domain.</summary>
internal static class ChatRows
{
    // The columns the ChatsByUser index stores: what ListChats reads without going back to the table.
    public const string ListedChatColumns =
        "ChatId, UserId, Title, CharacterIds, NextSeq, RotationCursor, LastMessagePreview, CreateTime, LastActiveTime";

    // A chat read by its key: the listed columns, its pins, where it was forked from, the persona it is
    // pinned to and its speaker settings (which the index does not store).
    public const string ChatColumns = ListedChatColumns + ", PinnedSeqs, ForkedFromChatId, ForkedFromSeq, PersonaId, SpeakerStrategy, MutedCharacterIds, ArchiveTime";

    // What the recording transactions read of a chat: its columns and, for a NATURAL chat only, its cast in
    // CharacterIds order, in the same statement (no second read on a send's path), the cast unnested and
    // joined to Characters once. The client reads no STRUCT, so each member is packed into one string
    // "talkativeness|idLength|id" + name (see UnpackMember): the number holds no '|', the id is taken by its
    // length, and the name is the rest, so neither needs escaping. The subquery sits in an IF whose other
    // branch other strategies take, and GoogleSQL evaluates only the branch taken, so their sends read (and
    // lock) no Characters row. A NATURAL send holds shared locks on its cast's rows until it commits: an
    // UpdateCharacter of one of them meanwhile waits for it or is retried (ABORTED), as any two transactions
    // on one row are; a send never sees half an update.
    private const string SpeakingChatSelect =
        $"""
        SELECT {ChatColumns},
          IF(IFNULL(ch.SpeakerStrategy, 1) = 3,
             ARRAY(SELECT CONCAT(CAST(IFNULL(c.Talkativeness, 0.5) AS STRING), '|', CAST(LENGTH(c.CharacterId) AS STRING), '|', c.CharacterId, c.DisplayName)
                   FROM UNNEST(ch.CharacterIds) AS id WITH OFFSET AS o JOIN Characters c ON c.CharacterId = id ORDER BY o),
             NULL) AS Members
        FROM Chats ch WHERE ch.ChatId = @chatId
        """;

    // The columns ReadTurn maps, from Turns t and Candidates c; each query adds its own CandidateId.
    // The rating is the chat owner's (the only user who can rate a candidate of the chat).
    public const string TurnColumns =
        "t.Seq, t.AuthorRole, t.CharacterId, t.Text, t.ReplyToSeq, t.CandidateCount, t.CreateTime, t.UpdateTime, " +
        "t.HiddenTime, t.Edited AS TurnEdited, " +
        "c.State, c.Text AS CandidateText, c.FailureReason, c.FailureCode, c.FilterCategory, c.Edited AS CandidateEdited, c.Continuations, " +
        "(SELECT r.Stars FROM Ratings r WHERE r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId LIMIT 1) AS RatingStars, " +
        "(SELECT r.Tags FROM Ratings r WHERE r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId LIMIT 1) AS RatingTags, " +
        "(SELECT r.Comment FROM Ratings r WHERE r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId LIMIT 1) AS RatingComment, " +
        "(SELECT r.UpdateTime FROM Ratings r WHERE r.ChatId = c.ChatId AND r.Seq = c.Seq AND r.CandidateId = c.CandidateId LIMIT 1) AS RatingTime";

    // A turn as history shows it: character turns take text and state from their primary candidate.
    public const string TurnSelect =
        $"""
        SELECT {TurnColumns}, t.PrimaryCandidateId AS CandidateId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = t.PrimaryCandidateId
        """;

    // One candidate of a turn, shaped like TurnSelect so ReadTurn maps it, with the chat's owner
    // (so a read on behalf of a user needs no separate ownership read).
    private const string CandidateTurnSelect =
        $"""
        SELECT {TurnColumns}, c.CandidateId, c.OwedShard, c.LeaseOwner, c.LeaseUntil,
               c.UndoneContinuation, c.UndoneFailureCode, c.UndoneFailureReason,
               t.PrimaryCandidateId, (SELECT ch.UserId FROM Chats ch WHERE ch.ChatId = t.ChatId) AS OwnerId
        FROM Turns t
        LEFT JOIN Candidates c ON c.ChatId = t.ChatId AND c.Seq = t.Seq AND c.CandidateId = IFNULL(@candidateId, t.PrimaryCandidateId)
        WHERE t.ChatId = @chatId AND t.Seq = @seq
        """;

    public static Chat ReadChat(SpannerRow row) => new(
        Id: row.Get<string>("ChatId"),
        UserId: row.Get<string>("UserId"),
        Title: row.Get<string>("Title"),
        CharacterIds: row.Get<List<string>>("CharacterIds"),
        LastSeq: row.Get<long>("NextSeq"),
        RotationCursor: row.Get<long>("RotationCursor"),
        LastMessagePreview: row.Get<string>("LastMessagePreview"),
        CreateTime: row.Get<DateTimeOffset>("CreateTime"),
        LastActiveTime: row.Get<DateTimeOffset>("LastActiveTime"),
        PinnedSeqs: HasColumn(row, "PinnedSeqs") ? row.Get<List<long>?>("PinnedSeqs") ?? [] : null,
        ForkedFrom: HasColumn(row, "ForkedFromChatId") && row.Get<string?>("ForkedFromChatId") is { } origin
            ? new ForkOrigin(origin, row.Get<long>("ForkedFromSeq"))
            : null,
        PersonaId: HasColumn(row, "PersonaId") ? row.Get<string?>("PersonaId") : null)
    {
        Speakers = HasColumn(row, "SpeakerStrategy")
            ? new SpeakerSettings(
                row.Get<long?>("SpeakerStrategy") is { } strategy ? (SpeakerStrategy)strategy : SpeakerStrategy.Rotation,
                row.Get<List<string>?>("MutedCharacterIds") ?? [])
            : null,
        ArchiveTime = HasColumn(row, "ArchiveTime") ? row.Get<DateTimeOffset?>("ArchiveTime") : null,
    };

    /// <summary>The columns of a chat's speaker settings, as <see cref="ReadChat"/> reads them back.</summary>
    public static SpannerMutation SetSpeakers(SpannerMutation mutation, SpeakerSettings settings) => mutation
        .Set("SpeakerStrategy", (long)settings.Strategy)
        .Set("MutedCharacterIds", settings.Muted.Count == 0 ? null : settings.Muted.ToList());

    private static bool HasColumn(SpannerRow row, string name)
    {
        for (var i = 0; i < row.FieldCount; i++)
        {
            if (row.GetName(i) == name)
            {
                return true;
            }
        }

        return false;
    }

    public static ChatTurn ReadTurn(string chatId, SpannerRow row)
    {
        var role = (AuthorRole)row.Get<long>("AuthorRole");
        var isUser = role == AuthorRole.User;
        return new ChatTurn(
            ChatId: chatId,
            Seq: row.Get<long>("Seq"),
            Role: role,
            CharacterId: row.Get<string?>("CharacterId"),
            Text: (isUser ? row.Get<string?>("Text") : row.Get<string?>("CandidateText")) ?? "",
            State: isUser || row.IsNull("State") ? ReplyState.Complete : (ReplyState)row.Get<long>("State"),
            CandidateId: row.Get<string?>("CandidateId"),
            CandidateCount: (int)row.Get<long>("CandidateCount"),
            CreateTime: row.Get<DateTimeOffset>("CreateTime"),
            FailureReason: row.Get<string?>("FailureReason"),
            FailureCode: FailureCodeColumn.FromColumn(row.Get<string?>("FailureCode")),
            ReplyToSeq: row.Get<long?>("ReplyToSeq"),
            Version: ChatTurn.VersionAt(row.Get<DateTimeOffset>("UpdateTime")),
            Hidden: !row.IsNull("HiddenTime"),
            Edited: (isUser ? row.Get<bool?>("TurnEdited") : row.Get<bool?>("CandidateEdited")) ?? false,
            Rating: row.IsNull("RatingStars")
                ? null
                : new TurnRating((int)row.Get<long>("RatingStars"), row.Get<List<string>>("RatingTags"), row.Get<string?>("RatingComment"), row.Get<DateTimeOffset>("RatingTime")))
        {
            Continuations = isUser ? 0 : (int)(row.Get<long?>("Continuations") ?? 0),
            FilterCategory = isUser ? null : row.Get<string?>("FilterCategory"),
        };
    }

    /// <summary>The chat if it exists and belongs to the user; otherwise null.</summary>
    public static async Task<Chat?> ReadOwnedChatAsync(ISpannerReader reader, string userId, string chatId, CancellationToken cancellationToken)
    {
        var chat = await ReadChatAsync(reader, chatId, cancellationToken);
        return chat is not null && chat.UserId == userId ? chat : null;
    }

    /// <summary>
    /// The user's chat as a recording transaction reads it to choose speakers (<see cref="SpeakerChoice"/>):
    /// with <see cref="Chat.Members"/> when its strategy needs them; null when it is missing or another user's.
    /// </summary>
    public static async Task<Chat?> ReadSpeakingChatAsync(ISpannerReader reader, string userId, string chatId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(new SpannerStatement(SpeakingChatSelect).Add("chatId", chatId), cancellationToken);
        if (rows.Count == 0 || rows[0].Get<string>("UserId") != userId)
        {
            return null;
        }

        var row = rows[0];
        var chat = ReadChat(row);
        return row.Get<List<string>?>("Members") is { } members
            ? chat with { Members = [.. members.Select(UnpackMember)] }
            : chat;
    }

    /// <summary>A cast member as <see cref="SpeakingChatSelect"/> packs it: "talkativeness|idLength|id" + name.</summary>
    internal static CastMember UnpackMember(string packed)
    {
        var first = packed.IndexOf('|');
        var second = packed.IndexOf('|', first + 1);
        var talkativeness = double.Parse(packed.AsSpan(0, first), NumberStyles.Float, CultureInfo.InvariantCulture);
        var idLength = int.Parse(packed.AsSpan(first + 1, second - first - 1), NumberStyles.None, CultureInfo.InvariantCulture);

        // LENGTH counts characters (code points); a character outside the BMP is two UTF-16 units here.
        var idEnd = second + 1;
        for (var i = 0; i < idLength; i++)
        {
            idEnd += char.IsHighSurrogate(packed[idEnd]) ? 2 : 1;
        }

        return new CastMember(packed[(second + 1)..idEnd], packed[idEnd..], talkativeness);
    }

    public static async Task<Chat?> ReadChatAsync(ISpannerReader reader, string chatId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement($"SELECT {ChatColumns} FROM Chats WHERE ChatId = @chatId").Add("chatId", chatId),
            cancellationToken);
        return rows.Count == 0 ? null : ReadChat(rows[0]);
    }

    /// <summary>
    /// The turn as shown with one of its candidates (the primary when <paramref name="candidateId"/>
    /// is null), and whether that candidate is still owed and by whom. User turns come back as
    /// they are (they have no candidates); callers check the role.
    /// </summary>
    public static async Task<StoredCandidate?> ReadCandidateAsync(
        ISpannerReader reader, string chatId, long seq, string? candidateId, CancellationToken cancellationToken)
    {
        var rows = await reader.QueryListAsync(
            new SpannerStatement(CandidateTurnSelect)
                .Add("chatId", chatId)
                .Add("seq", seq)
                .Add("candidateId", SpannerType.String, candidateId),
            cancellationToken);
        // No such turn, or a character turn without that candidate. User turns have no candidates.
        if (rows.Count == 0 || (rows[0].Get<long>("AuthorRole") == (long)AuthorRole.Character && rows[0].IsNull("CandidateId")))
        {
            return null;
        }

        var row = rows[0];
        var turn = ReadTurn(chatId, row);
        if (row.Get<long?>("UndoneContinuation") is { } undone && undone == turn.Continuations && turn.Continuations > 0)
        {
            // Its latest continuation was undone (it failed without adding text): how it failed is how a replay of it ends.
            turn = turn with
            {
                UndoneContinuation = new ReplyFailure(FailureCodeColumn.FromColumn(row.Get<string?>("UndoneFailureCode")) ?? ReplyFailureCode.Failed,
                    row.Get<string?>("UndoneFailureReason")),
            };
        }

        return new StoredCandidate(turn, !row.IsNull("OwedShard"), row.Get<string?>("LeaseOwner"), row.Get<DateTimeOffset?>("LeaseUntil"),
            turn.CandidateId == row.Get<string?>("PrimaryCandidateId"), row.Get<string>("OwnerId"));
    }
}
