using ChatService.Testing;

namespace ChatService.Bench.Infrastructure;

/// <summary>How the service's metrics moved between two scrapes (each metric summed over its label sets).</summary>
internal sealed class MetricsDelta(MetricsScrape before, MetricsScrape after)
{
    /// <summary>After minus before; 0 for a metric the service does not export.</summary>
    public double this[string metric] => after[metric] - before[metric];

    /// <summary>Whether the service exports the metric (in the later scrape).</summary>
    public bool Has(string metric) => after.Has(metric);

    /// <summary>The exported metrics whose name starts with <paramref name="prefix"/> (see <see cref="MetricsScrape.NamesStartingWith"/>).</summary>
    public IReadOnlyList<string> NamesStartingWith(string prefix) => after.NamesStartingWith(prefix);
}
