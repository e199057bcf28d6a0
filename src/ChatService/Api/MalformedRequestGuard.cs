using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Rejects a call whose request body is not exactly one well-formed request message (a
/// truncated or extra frame, an unknown compression flag, undecodable compression, bytes that
/// do not parse as the method's request type) with INVALID_ARGUMENT saying what is wrong.
/// grpc-dotnet answers such bodies with INTERNAL or UNKNOWN, which clients and alerts read as a
/// bug of ours; a malformed request is the caller's error. Only calls that send a single request
/// message are checked (all of this API's methods); the body is then handed on unchanged.
/// </summary>
internal sealed class MalformedRequestGuard(RequestDelegate next, IOptions<GrpcServiceOptions> grpcOptions)
{
    private const int FrameHeaderSize = 5;

    // grpc-dotnet's own default, for when no limit is configured: the body is buffered here.
    private const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
        if (method is not { Type: MethodType.Unary or MethodType.ServerStreaming } || !IsGrpc(context.Request.ContentType))
        {
            await next(context);
            return;
        }

        var maxMessage = grpcOptions.Value.MaxReceiveMessageSize ?? DefaultMaxMessageSize;
        byte[]? body;
        try
        {
            body = await ReadBodyAsync(context.Request.BodyReader, FrameHeaderSize + maxMessage, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The caller went away before it finished sending: there is no one to answer.
            return;
        }

        if (body is null)
        {
            Reject(context, StatusCode.ResourceExhausted, $"the request message exceeds the maximum message size of {maxMessage} bytes");
            return;
        }

        if (Check(body, context.Request.Headers["grpc-encoding"].ToString(), method, maxMessage) is { } problem)
        {
            Reject(context, problem.Code, problem.Message);
            return;
        }

        // Hand the body on as it came: grpc-dotnet reads it again from the start.
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Features.Set<IRequestBodyPipeFeature>(new BufferedBody(PipeReader.Create(new ReadOnlySequence<byte>(body))));
        await next(context);
    }

    private (StatusCode Code, string Message)? Check(byte[] body, string encoding, IMethod method, int maxMessage)
    {
        if (body.Length < FrameHeaderSize)
        {
            return (StatusCode.InvalidArgument, $"the request body has {body.Length} bytes; a gRPC message needs a 5-byte header");
        }

        var flag = body[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(1));
        var available = body.Length - FrameHeaderSize;
        if (flag > 1)
        {
            return (StatusCode.InvalidArgument, $"the request message has compressed flag {flag}; only 0 and 1 are defined");
        }

        if (length > (uint)maxMessage)
        {
            return (StatusCode.ResourceExhausted, $"the request message exceeds the maximum message size of {maxMessage} bytes");
        }

        if (length != available)
        {
            return (StatusCode.InvalidArgument, length > available
                ? $"the request message is truncated: its header announces {length} bytes, {available} arrived"
                : "the request body holds more than the one request message this method takes");
        }

        var payload = body.AsMemory(FrameHeaderSize);
        if (flag == 1)
        {
            if (encoding.Length == 0 || encoding == "identity")
            {
                return (StatusCode.InvalidArgument, "the request message is marked compressed but grpc-encoding names no compression");
            }

            var provider = grpcOptions.Value.CompressionProviders.FirstOrDefault(p => p.EncodingName == encoding);
            if (provider is null)
            {
                // grpc-dotnet answers UNIMPLEMENTED, listing the encodings it accepts.
                return null;
            }

            byte[]? decompressed;
            try
            {
                decompressed = Decompress(provider, payload, maxMessage);
            }
            catch (InvalidDataException)
            {
                return (StatusCode.InvalidArgument, $"the request message is not valid {encoding} data");
            }

            if (decompressed is null)
            {
                return (StatusCode.ResourceExhausted, $"the decompressed request message exceeds the maximum message size of {maxMessage} bytes");
            }

            payload = decompressed;
        }

        if (RequestType(method) is not { } requestType)
        {
            return null;
        }

        try
        {
            requestType.Parser.ParseFrom(payload.Span);
            return null;
        }
        catch (InvalidProtocolBufferException ex)
        {
            return (StatusCode.InvalidArgument, $"the request is not a valid {requestType.FullName}: {ex.Message}");
        }
    }

    /// <summary>The decompressed message, or null when it is larger than <paramref name="maxMessage"/>.</summary>
    private static byte[]? Decompress(Grpc.Net.Compression.ICompressionProvider provider, ReadOnlyMemory<byte> compressed, int maxMessage)
    {
        using var input = provider.CreateDecompressionStream(new MemoryStream(compressed.ToArray(), writable: false));
        var output = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = input.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, read);
            if (output.Length > maxMessage)
            {
                return null;
            }
        }

        return output.ToArray();
    }

    /// <summary>The request message type of a method of this API; null for other services (health, reflection).</summary>
    private static MessageDescriptor? RequestType(IMethod method) =>
        method.ServiceName == V1.ChatService.Descriptor.FullName
            ? V1.ChatService.Descriptor.FindMethodByName(method.Name)?.InputType
            : null;

    /// <summary>
    /// The whole body, or null when it is longer than <paramref name="limit"/>. Everything read is
    /// consumed at once: some readers (gRPC-Web's base64 decoder) do not take a partial advance.
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(PipeReader reader, long limit, CancellationToken cancellationToken)
    {
        var body = new ArrayBufferWriter<byte>();
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            foreach (var segment in read.Buffer)
            {
                body.Write(segment.Span);
            }

            reader.AdvanceTo(read.Buffer.End);
            if (body.WrittenCount > limit)
            {
                return null;
            }

            if (read.IsCompleted || read.IsCanceled)
            {
                return body.WrittenSpan.ToArray();
            }
        }
    }

    private static bool IsGrpc(string? contentType) =>
        contentType is not null
        && (contentType.Equals("application/grpc", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("application/grpc+", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("application/grpc;", StringComparison.OrdinalIgnoreCase));

    /// <summary>A trailers-only gRPC response: the status travels in the headers and the stream ends.</summary>
    private static void Reject(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }

    private sealed class BufferedBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader { get; } = reader;
    }
}
