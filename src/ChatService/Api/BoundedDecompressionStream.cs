using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// Reads a decompression stream, failing with RESOURCE_EXHAUSTED once more than the size limit
/// has come out of it and with INVALID_ARGUMENT when the compressed data is not valid.
/// </summary>
internal sealed class BoundedDecompressionStream(Stream inner, string encoding, int maxMessage) : Stream
{
    private long _total;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = inner.Read(buffer);
        }
        catch (InvalidDataException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request message is not valid {encoding} data"));
        }

        _total += read;
        if (_total > maxMessage)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted,
                $"the decompressed request message exceeds the maximum message size of {maxMessage} bytes"));
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
