using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Polly.Telemetry;

namespace ChatService.Resilience;

/// <summary>Makes the retry policies of the service's loops, all reporting to the same telemetry.</summary>
public sealed class RetryPolicyFactory(TimeProvider timeProvider, IOptions<TelemetryOptions> telemetry)
{
    // Metrics (with the enrichers Microsoft.Extensions.Resilience adds) but no Polly log lines: each
    // loop logs its retries itself, one line an attempt, in its own words.
    private readonly TelemetryOptions _telemetry = new(telemetry.Value) { LoggerFactory = NullLoggerFactory.Instance };

    public RetryPolicy Create(RetryPolicyOptions options) => new(options, timeProvider, _telemetry);
}
