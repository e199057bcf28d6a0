using System.Buffers.Binary;
using ChatService.Cache.Proto;
using ChatService.Chats;
using Google.Protobuf;

namespace ChatService.Cache;

/// <summary>Turns and chats to and from the cache's protobuf form.</summary>
internal static class WindowCodec
{
    public static byte[] Encode(ChatTurn turn) => ToCached(turn).ToByteArray();

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
    };

    /// <summary>
    /// The first <paramref name="wanted"/> turns of a window's "head" (turns framed by their 4-byte
    /// big-endian length, newest first); null when the framing is broken.
    /// </summary>
    public static List<ChatTurn>? DecodeHead(string chatId, ReadOnlyMemory<byte> head, int wanted)
    {
        var span = head.Span;
        var turns = new List<ChatTurn>(wanted);
        while (span.Length > 0 && turns.Count < wanted)
        {
            if (span.Length < sizeof(int))
            {
                return null;
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(span);
            span = span[sizeof(int)..];
            if (length < 0 || length > span.Length)
            {
                return null;
            }

            turns.Add(DecodeTurn(chatId, span[..length]));
            span = span[length..];
        }

        return turns;
    }

    public static ChatTurn DecodeTurn(string chatId, ReadOnlySpan<byte> bytes) => FromCached(chatId, CachedTurn.Parser.ParseFrom(bytes));

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
            Version: t.Version);

    public static byte[] Encode(ChatWindow window) =>
        new CachedChat { UserId = window.UserId, CharacterIds = { window.CharacterIds } }.ToByteArray();

    public static CachedChat DecodeChat(byte[] bytes) => CachedChat.Parser.ParseFrom(bytes);
}
