using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ChatService.Resilience;

/// <summary>Wires the retry policy shared by the service's retry loops.</summary>
public static class ResilienceExtensions
{
    /// <summary>Adds <see cref="RetryPolicyFactory"/>, with exception summaries on Polly's retry metrics.</summary>
    public static IHostApplicationBuilder AddServiceResilience(this IHostApplicationBuilder builder)
    {
        builder.Services.AddResilienceEnricher();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<RetryPolicyFactory>();
        return builder;
    }
}
