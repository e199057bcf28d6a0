using System.Buffers;

namespace ChatService.Cards;

/// <summary>An output that counts the bytes written to it and keeps none: the size of a card without its bytes.</summary>
internal sealed class ByteCounter : IBufferWriter<byte>
{
    private byte[] _scratch = new byte[16 * 1024];

    public long Count { get; private set; }

    public void Advance(int count) => Count += count;

    // A writer advances past what it wrote before it asks for more (IBufferWriter's contract), so one
    // scratch buffer serves every write.
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (sizeHint > _scratch.Length)
        {
            _scratch = new byte[sizeHint];
        }

        return _scratch;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
