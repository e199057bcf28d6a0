using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;

namespace ChatService.Api;

/// <summary>
/// The request body of a call that takes one request message, as grpc-dotnet reads it, checked
/// on the way through: a body that is not exactly one gRPC frame (too short for a header, an
/// unknown compressed flag, compression without an encoding, fewer or more bytes than the header
/// announces) fails the read with INVALID_ARGUMENT saying what is wrong, and a frame that
/// announces more than the size limit with RESOURCE_EXHAUSTED before it is buffered. grpc-dotnet's
/// own answers to these are INTERNAL or UNKNOWN (logged as an error of ours), though the caller
/// is at fault. Only the 5-byte header is looked at and bytes are counted; nothing is copied.
/// </summary>
internal sealed class RequestFrameReader(PipeReader inner, int maxMessage, bool compressionNamed) : PipeReader, IRequestBodyPipeFeature
{
    private const int HeaderSize = 5;

    private ReadOnlySequence<byte> _lastBuffer;
    private long _consumed;

    /// <summary>Where the frame ends (header plus announced length), once the header has arrived.</summary>
    private long _frameEnd = -1;

    PipeReader IRequestBodyPipeFeature.Reader => this;

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var pending = inner.ReadAsync(cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAndCheck(pending);
        }

        var result = pending.Result;
        Check(result);
        return new ValueTask<ReadResult>(result);
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        Check(result);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        _consumed += _lastBuffer.Slice(0, consumed).Length;
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _consumed += _lastBuffer.Slice(0, consumed).Length;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> AwaitAndCheck(ValueTask<ReadResult> pending)
    {
        var result = await pending;
        Check(result);
        return result;
    }

    private void Check(ReadResult result)
    {
        var buffer = result.Buffer;
        _lastBuffer = buffer;
        if (result.IsCanceled)
        {
            return;
        }

        // The buffer holds everything received and not yet consumed, so this counts every byte so far.
        var received = _consumed + buffer.Length;

        // grpc-dotnet consumes nothing until a whole frame has arrived, so the header is at the
        // start of the buffer the first time it is complete.
        if (_frameEnd < 0 && _consumed == 0 && buffer.Length >= HeaderSize)
        {
            _frameEnd = HeaderSize + CheckHeader(buffer);
        }

        if (_frameEnd >= 0 && received > _frameEnd)
        {
            Reject(buffer, StatusCode.InvalidArgument, "the request body holds more than the one request message this method takes");
        }

        if (!result.IsCompleted)
        {
            return;
        }

        if (received < HeaderSize)
        {
            Reject(buffer, StatusCode.InvalidArgument, $"the request body has {received} bytes; a gRPC message needs a 5-byte header");
        }

        if (_frameEnd >= 0 && received < _frameEnd)
        {
            Reject(buffer, StatusCode.InvalidArgument,
                $"the request message is truncated: its header announces {_frameEnd - HeaderSize} bytes, {received - HeaderSize} arrived");
        }
    }

    /// <summary>The message length the header announces, once the header itself is acceptable.</summary>
    private uint CheckHeader(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var flag = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (flag > 1)
        {
            Reject(buffer, StatusCode.InvalidArgument, $"the request message has compressed flag {flag}; only 0 and 1 are defined");
        }

        if (length > (uint)maxMessage)
        {
            Reject(buffer, StatusCode.ResourceExhausted, $"the request message exceeds the maximum message size of {maxMessage} bytes");
        }

        if (flag == 1 && !compressionNamed)
        {
            Reject(buffer, StatusCode.InvalidArgument, "the request message is marked compressed but grpc-encoding names no compression");
        }

        return length;
    }

    /// <summary>Fails the read; what was received is consumed so the body is left in a consistent state.</summary>
    private void Reject(ReadOnlySequence<byte> buffer, StatusCode code, string message)
    {
        inner.AdvanceTo(buffer.End);
        _lastBuffer = default;
        throw new RpcException(new Status(code, message));
    }
}
