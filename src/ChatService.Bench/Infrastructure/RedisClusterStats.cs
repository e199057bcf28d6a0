using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// One reading of the stack's Redis Cluster primaries: <c>INFO commandstats</c> calls per command and
/// <c>INFO cpu</c> (<c>used_cpu_sys</c> + <c>used_cpu_user</c>), each summed over the primaries, taken
/// through a connection of the bench's own. Replicas are left out: they replay their primary's writes.
/// </summary>
internal sealed class RedisClusterStats
{
    /// <summary>
    /// Commands that are not the clients' work, left out of the calls: the replicas' acknowledgements and
    /// syncs to their primary, and <c>INFO</c> (the readings themselves).
    /// </summary>
    public static readonly IReadOnlySet<string> NotCounted = new HashSet<string>(["replconf", "psync", "sync", "info"], StringComparer.Ordinal);

    private RedisClusterStats(IReadOnlySet<string> primaries, IReadOnlyDictionary<string, long> calls, double cpuSeconds)
    {
        Primaries = primaries;
        Calls = calls;
        CpuSeconds = cpuSeconds;
    }

    /// <summary>The primaries read, <c>host:port</c>.</summary>
    public IReadOnlySet<string> Primaries { get; }

    /// <summary>Calls so far per command (lower case, e.g. <c>xadd</c>, <c>evalsha</c>), summed over the primaries.</summary>
    public IReadOnlyDictionary<string, long> Calls { get; }

    /// <summary>CPU seconds (system + user) the primaries have used so far.</summary>
    public double CpuSeconds { get; }

    /// <summary>A connection for readings: admin mode, since StackExchange.Redis refuses <c>INFO</c> without it.</summary>
    public static async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var config = ConfigurationOptions.Parse(BenchStack.Endpoints.RedisConfiguration);
        config.AllowAdmin = true;
        config.ClientName = "chatbench-stats";
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    public static async Task<RedisClusterStats> TakeAsync(ConnectionMultiplexer redis)
    {
        var primaries = new HashSet<string>(StringComparer.Ordinal);
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        var cpu = 0.0;
        foreach (var server in redis.GetServers().Where(s => s.IsConnected))
        {
            // The role as the node says it now, not as the multiplexer last saw it.
            if (Field(await server.InfoRawAsync("replication") ?? "", "role") != "master")
            {
                continue;
            }

            primaries.Add(Address(server.EndPoint));
            var cpuInfo = await server.InfoRawAsync("cpu") ?? "";
            cpu += Number(Field(cpuInfo, "used_cpu_sys")) + Number(Field(cpuInfo, "used_cpu_user"));
            foreach (var (command, count) in CommandCalls(await server.InfoRawAsync("commandstats") ?? ""))
            {
                calls[command] = calls.GetValueOrDefault(command) + count;
            }
        }

        return new RedisClusterStats(primaries, calls, cpu);
    }

    /// <summary>What the primaries did since <paramref name="before"/>.</summary>
    public RedisCost Since(RedisClusterStats before)
    {
        var calls = Calls
            .Select(c => (Command: c.Key, Calls: c.Value - before.Calls.GetValueOrDefault(c.Key)))
            .Where(c => c.Calls > 0 && !NotCounted.Contains(c.Command))
            .ToDictionary(c => c.Command, c => c.Calls, StringComparer.Ordinal);
        return new RedisCost(calls, Math.Max(0, CpuSeconds - before.CpuSeconds), SamePrimaries: Primaries.SetEquals(before.Primaries));
    }

    /// <summary><c>cmdstat_xadd:calls=12,usec=34,...</c> lines as (command, calls).</summary>
    private static IEnumerable<(string Command, long Calls)> CommandCalls(string info)
    {
        const string prefix = "cmdstat_";
        foreach (var line in Lines(info).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var calls = line[(colon + 1)..].Split(',').FirstOrDefault(f => f.StartsWith("calls=", StringComparison.Ordinal));
            if (colon > 0 && calls is not null && long.TryParse(calls["calls=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                // Subcommands are named with a pipe (cmdstat_client|setname); the command is enough here.
                yield return (line[prefix.Length..colon].Split('|')[0], count);
            }
        }
    }

    private static string? Field(string info, string name) =>
        Lines(info).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))?[(name.Length + 1)..];

    private static IEnumerable<string> Lines(string info) => info.Split('\n').Select(l => l.Trim());

    private static double Number(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : 0;

    private static string Address(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => string.Create(CultureInfo.InvariantCulture, $"{ip.Address}:{ip.Port}"),
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        _ => endPoint.ToString() ?? "?",
    };
}
