using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Grpc.Core;
using Microsoft.AspNetCore.TestHost;

namespace ChatService.Tests.Hostile;

/// <summary>
/// Calls the service with bodies no generated client would send: arbitrary bytes as a request
/// message (through gRPC, with a pass-through marshaller), or hand-built HTTP/2 requests whose
/// gRPC framing itself is broken.
/// </summary>
internal static class RawGrpc
{
    public const string Service = "chat.v1.ChatService";

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>A unary call whose request message is <paramref name="body"/>, byte for byte.</summary>
    public static async Task<Observation> UnaryAsync(CallInvoker invoker, string method, byte[] body, CallOptions options)
    {
        var descriptor = new Method<byte[], byte[]>(MethodType.Unary, Service, method, Bytes, Bytes);
        try
        {
            await invoker.AsyncUnaryCall(descriptor, null, options, body);
            return Observation.Ok;
        }
        catch (RpcException ex)
        {
            return Observation.Of(ex);
        }
    }

    /// <summary>A server-streaming call whose request message is <paramref name="body"/>; reads every response.</summary>
    public static async Task<Observation> ServerStreamingAsync(CallInvoker invoker, string method, byte[] body, CallOptions options)
    {
        var descriptor = new Method<byte[], byte[]>(MethodType.ServerStreaming, Service, method, Bytes, Bytes);
        try
        {
            using var call = invoker.AsyncServerStreamingCall(descriptor, null, options, body);
            while (await call.ResponseStream.MoveNext(options.CancellationToken))
            {
            }

            return Observation.Ok;
        }
        catch (RpcException ex)
        {
            return Observation.Of(ex);
        }
    }

    /// <summary>A gRPC frame: compressed flag, big-endian length (the real one unless given), message.</summary>
    public static byte[] Frame(byte[] message, byte flag = 0, uint? length = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), length ?? (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>
    /// POSTs <paramref name="body"/> as a gRPC request over the test server's handler and reads the
    /// gRPC status from the trailers (or the headers of a trailers-only response). A response
    /// without a grpc-status is reported as UNKNOWN with the HTTP status, so it counts as a violation.
    /// </summary>
    public static async Task<Observation> PostAsync(TestServer server, string method, byte[] body,
        IEnumerable<(string Name, string Value)> headers, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(server.CreateHandler()) { BaseAddress = server.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/{Service}/{method}")
        {
            Version = HttpVersion.Version20,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await response.Content.CopyToAsync(Stream.Null, cancellationToken);
        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        var message = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message") ?? "";
        if (response.StatusCode != HttpStatusCode.OK || !int.TryParse(status, out var code))
        {
            return new Observation(StatusCode.Unknown, $"not a gRPC response: HTTP {(int)response.StatusCode}, grpc-status '{status}'");
        }

        return new Observation((StatusCode)code, Uri.UnescapeDataString(message));
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
