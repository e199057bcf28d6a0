using ChatService.Chats;
using Google.Protobuf;

namespace ChatService.Api;

/// <summary>
/// Turns in the public API's wire form, as the history cache keeps them: each turn is the bytes of
/// a <see cref="V1.Turn"/>, and a window's newest turns are framed the way
/// <see cref="V1.GetHistoryResponse"/> encodes its <c>turns</c> field (tag of field 1, varint
/// length, message), so a first history page is a prefix of the cached bytes and goes to the wire
/// without being decoded (see <see cref="HistoryMethod"/>).
/// </summary>
internal static class TurnWire
{
    /// <summary>GetHistoryResponse.turns: field 1, length-delimited.</summary>
    public const byte TurnsTag = (1 << 3) | 2;

    /// <summary>GetHistoryResponse.next_page_token: field 2, length-delimited.</summary>
    public const byte NextPageTokenTag = (2 << 3) | 2;

    public static byte[] Encode(ChatTurn turn) => turn.ToProto().ToByteArray();

    /// <summary>A turn as a window entry: its wire form, or nothing for a hidden turn (a turn's wire form is never empty: it names its chat).</summary>
    public static byte[] EncodeEntry(ChatTurn turn) => turn.Hidden ? [] : Encode(turn);

    /// <summary>
    /// The <c>seq</c> (field 2) of the turn in one GetHistoryResponse.turns frame, read by walking the
    /// message's fields; 0 when it has none.
    /// </summary>
    public static long SeqOf(ReadOnlySpan<byte> frame)
    {
        if (frame.Length == 0 || !TryReadLength(frame[1..], out var length, out var lengthBytes))
        {
            return 0;
        }

        var message = frame.Slice(1 + lengthBytes, Math.Min(length, frame.Length - 1 - lengthBytes));
        var at = 0;
        while (at < message.Length)
        {
            var tag = ReadVarint(message, ref at);
            switch (tag & 7)
            {
                case 0 when tag >> 3 == 2:
                    return (long)ReadVarint(message, ref at);
                case 0:
                    ReadVarint(message, ref at);
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    var skip = (int)ReadVarint(message, ref at);
                    at += skip;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    return 0;
            }
        }

        return 0;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> span, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; at < span.Length && shift < 64; shift += 7)
        {
            var b = span[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        return value;
    }

    /// <summary>A turn from its wire form; its <see cref="ChatTurn.Version"/> is not part of it (0).</summary>
    public static ChatTurn Decode(ReadOnlySpan<byte> bytes) => V1.Turn.Parser.ParseFrom(bytes).ToDomain();

    /// <summary>Frames turns (newest first) as GetHistoryResponse.turns.</summary>
    public static EncodedTurns Frame(IReadOnlyList<ChatTurn> newestFirst)
    {
        var output = new MemoryStream();
        var ends = new int[newestFirst.Count];
        var stream = new CodedOutputStream(output, leaveOpen: true);
        for (var i = 0; i < newestFirst.Count; i++)
        {
            stream.WriteTag(1, WireFormat.WireType.LengthDelimited);
            stream.WriteMessage(newestFirst[i].ToProto());
            stream.Flush();
            ends[i] = (int)output.Length;
        }

        return new EncodedTurns(output.ToArray(), ends);
    }

    /// <summary>
    /// The frames of GetHistoryResponse.turns in <paramref name="frames"/> (up to <paramref name="wanted"/>
    /// of them), found by their tags and lengths without decoding a turn; null when the framing is broken.
    /// </summary>
    public static EncodedTurns? Parse(ReadOnlyMemory<byte> frames, int wanted)
    {
        var span = frames.Span;
        var ends = new List<int>(wanted);
        var at = 0;
        while (at < span.Length && ends.Count < wanted)
        {
            if (span[at] != TurnsTag || !TryReadLength(span[(at + 1)..], out var length, out var lengthBytes)
                || length > span.Length - at - 1 - lengthBytes)
            {
                return null;
            }

            at += 1 + lengthBytes + length;
            ends.Add(at);
        }

        return new EncodedTurns(frames, [.. ends]);
    }

    /// <summary>
    /// True when every frame of <paramref name="head"/> (whose frames <paramref name="turns"/> are)
    /// is a well-formed protobuf message: each field's tag, varint and length walked and skipped,
    /// nothing decoded or allocated per field. Catches bytes that are not a message at all.
    /// </summary>
    public static bool AllMessages(byte[] head, EncodedTurns turns)
    {
        var start = 0;
        for (var i = 0; i < turns.Count; i++)
        {
            TryReadLength(head.AsSpan(start + 1), out var length, out var lengthBytes);
            var input = new CodedInputStream(head, start + 1 + lengthBytes, length);
            try
            {
                while (input.ReadTag() != 0)
                {
                    input.SkipLastField();
                }
            }
            catch (InvalidProtocolBufferException)
            {
                return false;
            }

            start = turns.End(i);
        }

        return true;
    }

    /// <summary>A base-128 varint of at most 5 bytes that fits a non-negative int (a frame length).</summary>
    private static bool TryReadLength(ReadOnlySpan<byte> span, out int length, out int bytes)
    {
        long value = 0;
        length = 0;
        for (bytes = 0; bytes < Math.Min(span.Length, 5); bytes++)
        {
            value |= (long)(span[bytes] & 0x7F) << (7 * bytes);
            if ((span[bytes] & 0x80) == 0)
            {
                bytes++;
                if (value > int.MaxValue)
                {
                    return false;
                }

                length = (int)value;
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes a varint; returns how many bytes it took.</summary>
    public static int WriteVarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int VarintSize(uint value) => value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : value < 1 << 21 ? 3 : value < 1 << 28 ? 4 : 5;
}
