namespace ChatService.Chats;

/// <summary>
/// A chat's newest turns, newest first, in the public API's wire form: each one an entry of
/// GetHistoryResponse's <c>turns</c> field. The cache keeps them so and the API writes them out as
/// they are; the domain only counts and slices them.
/// </summary>
public sealed class EncodedTurns(ReadOnlyMemory<byte> bytes, int[] ends)
{
    public static readonly EncodedTurns Empty = new(ReadOnlyMemory<byte>.Empty, []);

    /// <summary>The frames of all the turns.</summary>
    public ReadOnlyMemory<byte> Bytes => bytes;

    public int Count => ends.Length;

    /// <summary>Where frame <paramref name="index"/> ends (0 = the newest turn's).</summary>
    public int End(int index) => ends[index];

    /// <summary>The sequence number of turn <paramref name="index"/> (0 = the newest), read from its frame.</summary>
    public long SeqAt(int index) => Api.TurnWire.SeqOf(bytes.Span[(index == 0 ? 0 : ends[index - 1])..ends[index]]);

    /// <summary>The frames of the newest <paramref name="count"/> turns.</summary>
    public ReadOnlyMemory<byte> Newest(int count) => count == 0 ? ReadOnlyMemory<byte>.Empty : bytes[..ends[count - 1]];
}

/// <summary>
/// The head of a chat's window: its owner, its last sequence number, and its newest shown turns
/// encoded (see <see cref="EncodedTurns"/>); <see cref="Complete"/> when they are every turn the chat
/// shows. What a first history page is served from.
/// </summary>
public sealed record WindowHead(string UserId, long LastSeq, EncodedTurns Turns, bool Complete);
