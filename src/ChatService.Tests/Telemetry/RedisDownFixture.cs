using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Telemetry;

/// <summary>
/// The service with Redis pointed at a port nobody listens on (the shared cluster itself is left
/// alone): every history read falls back to Spanner.
/// </summary>
public sealed class RedisDownFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Redis:Endpoints"] = "127.0.0.1:1",
    };
}
