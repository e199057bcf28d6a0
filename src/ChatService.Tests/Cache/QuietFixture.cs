using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatService.Tests.Cache;

/// <summary>
/// The service with no background Spanner traffic (no recovery sweeps, no health polling), so a
/// test can attribute every Spanner read to the requests it makes.
/// </summary>
public sealed class QuietFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Dispatch:SweepInterval"] = "01:00:00",
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Configure<HealthCheckPublisherOptions>(o => o.Delay = TimeSpan.FromHours(1));
}
