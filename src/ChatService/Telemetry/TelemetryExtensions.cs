using System.Reflection;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ChatService.Telemetry;

/// <summary>
/// Wires OpenTelemetry: metrics (ASP.NET Core request duration, HTTP client, .NET runtime, and the
/// components' meters) exported to Prometheus on <c>/metrics</c>; and, when an OTLP endpoint is
/// configured, traces (the RPC's server span, the Spanner, Redis, reply generation and model call
/// spans of the components, outgoing HTTP calls), metrics and logs over OTLP.
/// </summary>
public static class TelemetryExtensions
{
    private const string MetricsPath = "/metrics";

    /// <summary>
    /// ASP.NET Core instruments recorded on every request or buffer that answer no operator question the
    /// request duration, Kestrel's connection metrics, the runtime's thread-pool queue and the service's
    /// own meters do not: the memory pool's per-rent counters (its growth and evictions, recorded rarely,
    /// stay), routing's match attempts, authorization's attempts (the chat API has no authorization
    /// policy; the caller gate refuses through authentication, whose metrics stay), and Kestrel's queued
    /// HTTP/2 streams (a stream waits for a thread-pool thread, which <c>dotnet.thread_pool.queue.length</c>
    /// shows for all work). <see cref="TelemetryOptions.FrameworkDiagnosticMetrics"/> turns them back on.
    /// </summary>
    internal static readonly string[] PerRequestDiagnosticInstruments =
    [
        "aspnetcore.memory_pool.rented",
        "aspnetcore.memory_pool.pooled",
        "aspnetcore.routing.match_attempts",
        "aspnetcore.authorization.attempts",
        "kestrel.queued_requests",
    ];

    public static IHostApplicationBuilder AddTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<TelemetryOptions>()
            .BindConfiguration(TelemetryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        var options = builder.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();

        var otlpConfigured = !string.IsNullOrWhiteSpace(options.OtlpEndpoint);
        // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT / _PROTOCOL / _HEADERS itself.
        var otlp = otlpConfigured || !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(options.ServiceName, serviceVersion: ServiceVersion(), autoGenerateServiceInstanceId: false)
                .AddDetector(sp => ActivatorUtilities.CreateInstance<ReplicaResourceDetector>(sp)))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(TelemetryNames.Meters)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                if (!options.FrameworkDiagnosticMetrics)
                {
                    // A dropped instrument is not enabled by this meter provider, so (unless another listener such
                    // as dotnet-counters enables it) ASP.NET Core skips recording it.
                    foreach (var instrument in PerRequestDiagnosticInstruments)
                    {
                        metrics.AddView(instrument, MetricStreamConfiguration.Drop);
                    }
                }

                if (options.PrometheusEnabled)
                {
                    metrics.AddPrometheusExporter();
                }
            });

        if (!otlp)
        {
            // Spans would have nowhere to go: recording them would only cost. (Trace context is
            // still propagated; W3C headers need no tracer.)
            return builder;
        }

        telemetry.WithTracing(tracing => tracing
            .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(Math.Clamp(options.TraceSampleRatio, 0, 1))))
            .AddSource(TelemetryNames.ActivitySources)
            .AddAspNetCoreInstrumentation(aspNet => aspNet.Filter = context => !IsOperational(context.Request.Path))
            // Spanner's gRPC calls already have their own spans (with method, retries and status); the HTTP layer under them adds nothing.
            .AddHttpClientInstrumentation(http => http.FilterHttpRequestMessage = request => !IsSpannerCall(request)));
        if (otlpConfigured)
        {
            telemetry.UseOtlpExporter(options.OtlpProtocol, new Uri(options.OtlpEndpoint!));
        }
        else
        {
            telemetry.UseOtlpExporter();
        }

        // OTLP export includes the logs: the chat scopes travel as log attributes.
        builder.Services.Configure<OpenTelemetryLoggerOptions>(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });
        return builder;
    }

    /// <summary>Serves <c>/metrics</c> (Prometheus text format) on the metrics endpoint's port only.</summary>
    public static WebApplication MapTelemetry(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value;
        if (!options.PrometheusEnabled)
        {
            return app;
        }

        var port = MetricsPort(app.Configuration, options.MetricsEndpointName);
        app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
            context.Request.Path == MetricsPath && (port is null || context.Connection.LocalPort == port));
        return app;
    }

    /// <summary>The fixed port of the named Kestrel endpoint; null when it has none (then every port serves metrics).</summary>
    internal static int? MetricsPort(IConfiguration configuration, string endpointName)
    {
        var url = configuration[$"Kestrel:Endpoints:{endpointName}:Url"];
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        try
        {
            var port = BindingAddress.Parse(url).Port;
            return port > 0 ? port : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Probes and scrapes: frequent, uninteresting, and they would drown the traces.</summary>
    private static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments(MetricsPath) || path.StartsWithSegments("/grpc.health.v1.Health");

    private static bool IsSpannerCall(HttpRequestMessage request) =>
        request.RequestUri?.AbsolutePath.StartsWith("/google.spanner.", StringComparison.Ordinal) == true;

    private static string ServiceVersion() =>
        typeof(TelemetryExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
