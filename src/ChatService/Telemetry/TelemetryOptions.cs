using System.ComponentModel.DataAnnotations;
using OpenTelemetry.Exporter;

namespace ChatService.Telemetry;

/// <summary>Traces, metrics and their export. Bound from the <c>Telemetry</c> configuration section.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Telemetry";

    /// <summary>The <c>service.name</c> of every span and metric. Default: <c>chatservice</c>.</summary>
    [Required]
    public string ServiceName { get; set; } = "chatservice";

    /// <summary>
    /// Where to send traces, metrics and logs over OTLP, e.g. <c>http://otel-collector:4317</c>. Default: none, in
    /// which case OTLP export is on only when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable is set
    /// (the other <c>OTEL_EXPORTER_OTLP_*</c> variables apply then too).
    /// </summary>
    [Url]
    public string? OtlpEndpoint { get; set; }

    /// <summary>OTLP transport used with <see cref="OtlpEndpoint"/>: <c>Grpc</c> (port 4317) or <c>HttpProtobuf</c> (port 4318). Default: <c>Grpc</c>.</summary>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;

    /// <summary>
    /// Share of new traces recorded (0 to 1); a request that arrives with a sampled parent is always
    /// recorded, so a trace is never cut in half. Default: 1 (every trace).
    /// </summary>
    [Range(0.0, 1.0)]
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>Serve the Prometheus scrape endpoint <c>/metrics</c>. Default: true.</summary>
    public bool PrometheusEnabled { get; set; } = true;

    /// <summary>
    /// The Kestrel endpoint (under <c>Kestrel:Endpoints</c>) whose port alone serves <c>/metrics</c>, so
    /// the public gRPC port never exposes it. When that endpoint is not configured with a fixed port,
    /// every port serves it. Default: <c>Http</c> (port 8080).
    /// </summary>
    [Required]
    public string MetricsEndpointName { get; set; } = "Http";

    /// <summary>
    /// Also record ASP.NET Core's per-request diagnostic instruments: the memory pool's per-rent counters
    /// (<c>aspnetcore.memory_pool.rented</c>, <c>.pooled</c>), routing's match attempts, authorization's
    /// attempts and Kestrel's queued requests. Off by default: they cost every call CPU and answer
    /// questions only a diagnosis asks. Default: false.
    /// </summary>
    public bool FrameworkDiagnosticMetrics { get; set; }
}
