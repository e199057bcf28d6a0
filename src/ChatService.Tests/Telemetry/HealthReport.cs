using System.Net;
using System.Text.Json;

namespace ChatService.Tests.Telemetry;

/// <summary>A health endpoint's answer: its HTTP status and the JSON body's overall and per-check statuses.</summary>
public sealed record HealthReport(HttpStatusCode Code, string Status, IReadOnlyDictionary<string, string> Checks)
{
    public static async Task<HealthReport> GetAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.ToString());
        using var json = JsonDocument.Parse(body);
        var checks = json.RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("status").GetString()!);
        return new HealthReport(response.StatusCode, json.RootElement.GetProperty("status").GetString()!, checks);
    }
}
