using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ChatService.HealthChecks;

/// <summary>
/// Writes a health report as a small JSON document: the overall status and each check's status,
/// description and duration. Exception details stay in the logs, not on the wire.
/// </summary>
internal static class HealthReportWriter
{
    /// <summary>
    /// Answers a probe with a report already taken: 200 for Healthy and Degraded, 503 for Unhealthy,
    /// never cached (as ASP.NET Core's health check endpoints answer).
    /// </summary>
    public static Task WriteProbeAsync(HttpContext context, HealthReport report)
    {
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store, no-cache";
        headers.Pragma = "no-cache";
        headers.Expires = "Thu, 01 Jan 1970 00:00:00 GMT";
        return WriteAsync(context, report);
    }

    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is not null)
            {
                json.WriteString("description", entry.Description);
            }

            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
