using System.Text;
using ChatService.Chats;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;

namespace ChatService.Api;

/// <summary>
/// Binds GetHistory with a response marshaller that writes a page as bytes: the encoded turns
/// (a prefix of the cached window head, see <see cref="TurnWire"/>) and the page token. The wire
/// form is exactly GetHistoryResponse's, so clients see no difference; the service builds no
/// message per call. grpc-dotnet's documented extension point for methods a service binds itself.
/// </summary>
internal sealed class HistoryMethod : IServiceMethodProvider<ChatApi>
{
    public const string Name = nameof(V1.ChatService.ChatServiceBase.GetHistory);

    private static readonly Marshaller<HistoryPageResponse> Responses = new(Write, _ => throw new NotSupportedException("the server only writes history pages"));

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<ChatApi> context)
    {
        var requests = StrictRequestBinder.StrictMarshaller(
            Marshallers.Create(static (V1.GetHistoryRequest r, SerializationContext c) => c.Complete(r.ToByteArray()), static c => V1.GetHistoryRequest.Parser.ParseFrom(c.PayloadAsReadOnlySequence())),
            V1.GetHistoryRequest.Descriptor.FullName);
        var method = new Method<V1.GetHistoryRequest, HistoryPageResponse>(MethodType.Unary, V1.ChatService.Descriptor.FullName, Name, requests, Responses);

        // What grpc-dotnet's own binding attaches: the service's attributes, the handler's, and POST.
        var handler = typeof(ChatApi).GetMethod(nameof(ChatApi.GetHistoryPage))!;
        var metadata = new List<object>();
        metadata.AddRange(typeof(ChatApi).GetCustomAttributes(inherit: true));
        metadata.AddRange(handler.GetCustomAttributes(inherit: true));
        metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
        context.AddUnaryMethod(method, metadata, static (api, request, call) => api.GetHistoryPage(request, call));
    }

    private static void Write(HistoryPageResponse page, SerializationContext context)
    {
        var token = page.NextPageToken;
        var tokenBytes = Encoding.UTF8.GetByteCount(token);
        var tokenField = tokenBytes == 0 ? 0 : 1 + TurnWire.VarintSize((uint)tokenBytes) + tokenBytes;
        context.SetPayloadLength(page.Turns.Length + tokenField);
        var writer = context.GetBufferWriter();

        var turns = page.Turns.Span;
        while (turns.Length > 0)
        {
            var span = writer.GetSpan(Math.Min(turns.Length, 64 * 1024));
            var n = Math.Min(span.Length, turns.Length);
            turns[..n].CopyTo(span);
            writer.Advance(n);
            turns = turns[n..];
        }

        if (tokenField > 0)
        {
            var span = writer.GetSpan(tokenField);
            span[0] = TurnWire.NextPageTokenTag;
            var at = 1 + TurnWire.WriteVarint(span[1..], (uint)tokenBytes);
            Encoding.UTF8.GetBytes(token, span[at..]);
            writer.Advance(tokenField);
        }

        context.Complete();
    }
}

/// <summary>A GetHistoryResponse as bytes: the encoded turns, then the next page token (empty on the last page).</summary>
internal sealed record HistoryPageResponse(ReadOnlyMemory<byte> Turns, string NextPageToken)
{
    public static HistoryPageResponse From(HistoryPage page) => new(
        page.Encoded is { } encoded ? encoded.Newest(page.Count) : TurnWire.Frame(page.Turns!).Bytes,
        page.NextPageToken ?? "");
}
