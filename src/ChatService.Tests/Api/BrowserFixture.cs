using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Api;

/// <summary>The in-process service with CORS open to <see cref="AllowedOrigin"/>, for gRPC-Web tests.</summary>
public sealed class BrowserFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const string AllowedOrigin = "https://app.example.test";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Cors:AllowedOrigins:0"] = AllowedOrigin,
        ["Cors:PreflightMaxAge"] = "00:05:00",
    };
}
