using Grpc.Core;

namespace ChatService.Bench.Scenarios;

/// <summary>A chat the bench created, and the metadata that calls as its owner.</summary>
internal sealed record BenchChat(string ChatId, string UserId)
{
    /// <summary>The local-mode caller identity header; built once and reused by every call.</summary>
    public Metadata Headers { get; } = new() { { "x-user-id", UserId } };
}
