using ChatService.Chats;
using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;

namespace ChatService.Telemetry;

/// <summary>
/// Names the replica in telemetry (<c>service.instance.id</c>) with the id it holds reply leases
/// under, so a span or metric and the leases in Spanner point at the same process.
/// </summary>
internal sealed class ReplicaResourceDetector(IOptions<ChatOptions> options) : IResourceDetector
{
    public Resource Detect() => new([new KeyValuePair<string, object>("service.instance.id", options.Value.ReplicaId)]);
}
