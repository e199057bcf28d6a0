namespace ChatService.Bench.Infrastructure;

/// <summary>Commands and CPU of the Redis Cluster's primaries over a window.</summary>
/// <param name="Calls">Calls per command (commands run inside a script count both as the script call and as themselves).</param>
/// <param name="CpuSeconds">System + user CPU seconds of the primaries.</param>
/// <param name="SamePrimaries">False when the set of primaries changed during the window (a failover): the figures then mix nodes.</param>
internal sealed record RedisCost(IReadOnlyDictionary<string, long> Calls, double CpuSeconds, bool SamePrimaries)
{
    public long TotalCalls => Calls.Values.Sum();

    public long CallsOf(string command) => Calls.GetValueOrDefault(command);

    /// <summary>The <paramref name="count"/> most called commands, most called first.</summary>
    public IEnumerable<KeyValuePair<string, long>> MostCalled(int count) =>
        Calls.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(count);
}
