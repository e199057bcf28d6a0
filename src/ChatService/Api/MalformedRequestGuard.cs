using System.Buffers.Text;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;

namespace ChatService.Api;

/// <summary>
/// Makes a malformed gRPC call the caller's error (INVALID_ARGUMENT saying what is wrong) rather
/// than the INTERNAL or UNKNOWN grpc-dotnet answers with. Here: a binary (<c>-bin</c>) metadata
/// header that is not base64, which grpc-dotnet would only find when the call's metadata is first
/// read, wherever that is. Broken framing is caught as the body streams through
/// <see cref="RequestFrameReader"/>; undecodable compression by <see cref="BoundedDecompression"/>;
/// a message that does not parse by the request marshaller (<see cref="StrictRequestBinder"/>).
/// The body is neither buffered nor parsed here. Only calls that send a single request message
/// are checked (all of this API's methods, and health checks), each against its own size limit
/// (<see cref="MessageSizeLimits"/>).
/// </summary>
internal sealed class MalformedRequestGuard(RequestDelegate next, MessageSizeLimits limits)
{
    public Task InvokeAsync(HttpContext context)
    {
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
        if (method is not { Type: MethodType.Unary or MethodType.ServerStreaming } || !IsGrpc(context.Request.ContentType))
        {
            return next(context);
        }

        if (!BinaryHeadersDecode(context.Request.Headers))
        {
            GrpcStatusResponse.Write(context, StatusCode.InvalidArgument, "a binary (-bin) metadata header is not valid base64");
            return Task.CompletedTask;
        }

        var encoding = context.Request.Headers["grpc-encoding"].ToString();
        var limit = limits.For(method);
        var reader = new RequestFrameReader(context.Request.BodyReader, limit, compressionNamed: encoding.Length > 0 && encoding != "identity");
        context.Features.Set<IRequestBodyPipeFeature>(reader);
        return MessageSizeLimits.WithinAsync(limit, next, context);
    }

    /// <summary>Whether grpc-dotnet can decode every "-bin" header: base64, with its padding optional.</summary>
    private static bool BinaryHeadersDecode(IHeaderDictionary headers)
    {
        foreach (var (name, values) in headers)
        {
            if (!name.EndsWith(Metadata.BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // grpc-dotnet joins repeated values with commas before decoding, as here.
            var value = values.ToString();
            var decodes = (value.Length % 4) switch
            {
                0 => Base64.IsValid(value),
                2 => Base64.IsValid(value + "=="),
                3 => Base64.IsValid(value + "="),
                _ => false,
            };
            if (!decodes)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsGrpc(string? contentType) =>
        contentType is not null
        && (contentType.Equals("application/grpc", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("application/grpc+", StringComparison.OrdinalIgnoreCase)
            || contentType.StartsWith("application/grpc;", StringComparison.OrdinalIgnoreCase));
}
