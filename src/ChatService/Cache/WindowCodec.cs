using ChatService.Cache.Proto;
using ChatService.Chats;
using Google.Protobuf;

namespace ChatService.Cache;

/// <summary>
/// A cached window's chat (owner and cast), and turns as the reply log carries them (with their
/// version), to and from the cache's protobuf form. A window's turns are kept in the public wire
/// form instead (see <see cref="Api.TurnWire"/>).
/// </summary>
internal static class WindowCodec
{
    public static CachedTurn ToCached(ChatTurn turn) => new()
    {
        Seq = turn.Seq,
        Role = (int)turn.Role,
        CharacterId = turn.CharacterId ?? "",
        Text = turn.Text,
        State = (int)turn.State,
        CandidateId = turn.CandidateId ?? "",
        CandidateCount = turn.CandidateCount,
        CreateTime = ChatTurn.VersionAt(turn.CreateTime),
        FailureReason = turn.FailureReason ?? "",
        ReplyToSeq = turn.ReplyToSeq ?? 0,
        Version = turn.Version,
        Continuations = turn.Continuations,
        FailureCode = Storage.FailureCodeColumn.ToColumn(turn.FailureCode) ?? "",
        FilterCategory = turn.FilterCategory ?? "",
    };

    public static ChatTurn FromCached(string chatId, CachedTurn t) =>
        new(
            ChatId: chatId,
            Seq: t.Seq,
            Role: (AuthorRole)t.Role,
            CharacterId: t.CharacterId.Length == 0 ? null : t.CharacterId,
            Text: t.Text,
            State: (ReplyState)t.State,
            CandidateId: t.CandidateId.Length == 0 ? null : t.CandidateId,
            CandidateCount: t.CandidateCount,
            CreateTime: DateTimeOffset.UnixEpoch.AddTicks(t.CreateTime * TimeSpan.TicksPerMicrosecond),
            FailureReason: t.FailureReason.Length == 0 ? null : t.FailureReason,
            ReplyToSeq: t.ReplyToSeq == 0 ? null : t.ReplyToSeq,
            Version: t.Version,
            FailureCode: Storage.FailureCodeColumn.FromColumn(t.FailureCode.Length == 0 ? null : t.FailureCode))
        {
            Continuations = t.Continuations,
            FilterCategory = t.FilterCategory.Length == 0 ? null : t.FilterCategory,
        };

    public static byte[] Encode(ChatWindow window)
    {
        var chat = new CachedChat { UserId = window.UserId, CharacterIds = { window.CharacterIds }, PinnedSeqs = { window.PinnedSeqs } };
        if (window.Memory is { } memory)
        {
            chat.MemoryKnown = true;
            chat.MemoryNote = memory.Note ?? "";
            chat.SummaryGeneration = memory.SummaryGeneration;
            if (memory.Depth is { } depth)
            {
                chat.MemoryDepth = depth;
            }

            if (memory.Summary is { } summary)
            {
                chat.SummaryVersion = summary.Version;
                chat.SummaryThroughSeq = summary.ThroughSeq;
                chat.SummaryText = summary.Text;
                chat.SummaryTime = ChatTurn.VersionAt(summary.CreateTime);
            }
        }

        return chat.ToByteArray();
    }

    /// <summary>The chat's memory as a cached window keeps it; null when the window was cached without it.</summary>
    public static ChatMemory? MemoryOf(CachedChat chat) =>
        !chat.MemoryKnown
            ? null
            : new ChatMemory(
                chat.MemoryNote.Length == 0 ? null : chat.MemoryNote,
                chat.HasMemoryDepth ? chat.MemoryDepth : null,
                chat.SummaryVersion == 0
                    ? null
                    : new ChatSummary(chat.SummaryVersion, chat.SummaryThroughSeq, chat.SummaryText,
                        DateTimeOffset.UnixEpoch.AddTicks(chat.SummaryTime * TimeSpan.TicksPerMicrosecond)))
            {
                SummaryGeneration = chat.SummaryGeneration,
            };

    public static CachedChat DecodeChat(byte[] bytes) => CachedChat.Parser.ParseFrom(bytes);
}
