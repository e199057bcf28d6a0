using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatService.Tests.Telemetry;

/// <summary>The service in process, with its logs captured (scopes included).</summary>
public sealed class TelemetryFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public LogCapture Logs { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Logs);
}
