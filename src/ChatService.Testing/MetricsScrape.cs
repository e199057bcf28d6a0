using System.Globalization;

namespace ChatService.Testing;

/// <summary>
/// One scrape of the service's Prometheus endpoint, each metric summed over its label sets
/// (e.g. all commits, whatever their attributes). Names are as Prometheus shows them: a counter
/// <c>spanner.client.reads</c> is <c>spanner_client_reads_total</c>.
/// </summary>
/// <remarks>
/// The service's exporter caches its answer for 300 ms (the OpenTelemetry Prometheus exporter's
/// default): a scrape taken sooner than that after another may repeat the earlier numbers.
/// </remarks>
public sealed class MetricsScrape(IReadOnlyDictionary<string, double> totals)
{
    /// <summary>How long the service's exporter may answer a scrape with the previous one's numbers.</summary>
    public static readonly TimeSpan ResponseCacheDuration = TimeSpan.FromMilliseconds(300);

    /// <summary>The metric's total over its label sets; 0 when the scrape did not list it.</summary>
    public double this[string metric] => totals.GetValueOrDefault(metric);

    /// <summary>True when the scrape listed the metric (with any labels).</summary>
    public bool Has(string metric) => totals.ContainsKey(metric);

    /// <summary>The metrics whose name starts with <paramref name="prefix"/>, in name order, without histogram buckets (their sum over labels means nothing).</summary>
    public IReadOnlyList<string> NamesStartingWith(string prefix) =>
        [.. totals.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !n.EndsWith("_bucket", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    /// <summary>Scrapes <c>/metrics</c> on the service's HTTP port.</summary>
    public static async Task<MetricsScrape> TakeAsync(HttpClient http, int httpPort, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics"), cancellationToken);
        return Parse(text);
    }

    /// <summary>Scrapes <c>/metrics</c> of a service process.</summary>
    public static Task<MetricsScrape> TakeAsync(HttpClient http, ServiceProcess service, CancellationToken cancellationToken) =>
        TakeAsync(http, service.HttpPort, cancellationToken);

    /// <summary>Parses the Prometheus text format: <c>name{labels} value [timestamp]</c> lines; comments skipped.</summary>
    public static MetricsScrape Parse(string text)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            // Label values may hold spaces: the value comes after the closing brace.
            var valueStart = line[nameEnd] == '{' ? line.LastIndexOf('}') + 1 : nameEnd;
            var fields = line[valueStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                var name = line[..nameEnd];
                totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }

        return new MetricsScrape(totals);
    }
}
