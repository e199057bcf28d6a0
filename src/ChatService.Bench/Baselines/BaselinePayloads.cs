using ChatService.Bench.Baselines.V1;
using Google.Protobuf;

namespace ChatService.Bench.Baselines;

/// <summary>The serialized history pages the baselines serve, one per chat, in chat order.</summary>
internal sealed class BaselinePayloads(IReadOnlyList<byte[]> pages)
{
    public IReadOnlyList<byte[]> Pages { get; } = pages;

    public GetReply[] Replies { get; } = [.. pages.Select(p => new GetReply { Payload = ByteString.CopyFrom(p) })];
}
