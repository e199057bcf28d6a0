using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace ChatService.Testing;

/// <summary>
/// One scrape of the service's Prometheus endpoint, each metric summed over its label sets
/// (e.g. all commits, whatever their attributes). Names are as Prometheus shows them: a counter
/// <c>spanner.client.reads</c> is <c>spanner_client_reads_total</c>.
/// </summary>
/// <remarks>
/// The service's exporter caches its answer for 300 ms (the OpenTelemetry Prometheus exporter's
/// default): a scrape taken sooner than that after another would repeat the earlier numbers. So
/// <see cref="TakeAsync(HttpClient, int, CancellationToken)"/> waits until the endpoint's last
/// answer (to any scrape from this process) is older than that: every scrape shows the counters as
/// they are when it is taken, and the delta of two scrapes is what happened between them.
/// </remarks>
public sealed class MetricsScrape(IReadOnlyDictionary<string, double> totals, IReadOnlyDictionary<string, double>? series = null)
{
    /// <summary>How long the service's exporter may answer a scrape with the previous one's numbers.</summary>
    public static readonly TimeSpan ResponseCacheDuration = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// Slack beyond <see cref="ResponseCacheDuration"/> (timer granularity): a cached answer was built
    /// no later than it reached us, so it has expired once that long has passed since we received it.
    /// </summary>
    private static readonly TimeSpan FreshnessMargin = TimeSpan.FromMilliseconds(50);

    /// <summary>When each endpoint (by port) last answered a scrape from this process, as a <see cref="Stopwatch"/> timestamp.</summary>
    private static readonly ConcurrentDictionary<int, long> LastAnswers = new();

    /// <summary>The metric's total over its label sets; 0 when the scrape did not list it.</summary>
    public double this[string metric] => totals.GetValueOrDefault(metric);

    /// <summary>
    /// The series of <paramref name="metric"/> (e.g. a histogram's <c>_bucket</c> lines), each by its labels as
    /// printed (<c>{a="x",le="0.5"}</c>), with its value.
    /// </summary>
    public IReadOnlyList<(string Labels, double Value)> Series(string metric)
    {
        var prefix = metric + "{";
        return [.. (series ?? new Dictionary<string, double>()).Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal))
            .Select(s => (s.Key[metric.Length..], s.Value))];
    }

    /// <summary>True when the scrape listed the metric (with any labels).</summary>
    public bool Has(string metric) => totals.ContainsKey(metric);

    /// <summary>The metrics whose name starts with <paramref name="prefix"/>, in name order, without histogram buckets (their sum over labels means nothing).</summary>
    public IReadOnlyList<string> NamesStartingWith(string prefix) =>
        [.. totals.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && !n.EndsWith("_bucket", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    /// <summary>
    /// Scrapes <c>/metrics</c> on the service's HTTP port: the counters as they are now, never the
    /// exporter's cached answer to an earlier scrape (waits up to <see cref="ResponseCacheDuration"/> for that).
    /// </summary>
    public static async Task<MetricsScrape> TakeAsync(HttpClient http, int httpPort, CancellationToken cancellationToken)
    {
        if (LastAnswers.TryGetValue(httpPort, out var lastAnswer))
        {
            var cached = ResponseCacheDuration + FreshnessMargin - Stopwatch.GetElapsedTime(lastAnswer);
            if (cached > TimeSpan.Zero)
            {
                await Task.Delay(cached, cancellationToken);
            }
        }

        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/metrics"), cancellationToken);
        LastAnswers[httpPort] = Stopwatch.GetTimestamp();
        return Parse(text);
    }

    /// <summary>Scrapes <c>/metrics</c> of a service process.</summary>
    public static Task<MetricsScrape> TakeAsync(HttpClient http, ServiceProcess service, CancellationToken cancellationToken) =>
        TakeAsync(http, service.HttpPort, cancellationToken);

    /// <summary>Parses the Prometheus text format: <c>name{labels} value [timestamp]</c> lines; comments skipped.</summary>
    public static MetricsScrape Parse(string text)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
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
                if (line[nameEnd] == '{')
                {
                    series[line[..valueStart]] = value;
                }
            }
        }

        return new MetricsScrape(totals, series);
    }
}
