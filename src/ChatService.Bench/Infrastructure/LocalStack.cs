using System.Globalization;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// Where the local stack listens (the same environment variables as <c>scripts/stack.sh</c>) and
/// which processes are its parts, for the CPU split.
/// </summary>
internal static class LocalStack
{
    private const int RedisNodeCount = 6;

    /// <summary>The emulator's port: <c>SPANNER_EMULATOR_PORT</c> (9010), or a private emulator's while one runs.</summary>
    public static int EmulatorPort { get; set; } = PortFromEnvironment("SPANNER_EMULATOR_PORT", 9010);

    public static string EmulatorHost => $"localhost:{EmulatorPort}";

    public static IReadOnlyList<int> RedisPorts { get; } =
        [.. Enumerable.Range(PortFromEnvironment("REDIS_CLUSTER_PORTS", 7000), RedisNodeCount)];

    /// <summary>Every node, comma-joined: what <c>Redis__Endpoints</c> and StackExchange.Redis take.</summary>
    public static string RedisEndpoints => string.Join(',', RedisPorts.Select(p => $"127.0.0.1:{p}"));

    /// <summary>The emulator's processes (<c>emulator_main</c>, and <c>gateway_main</c> when started by gcloud).</summary>
    public static IReadOnlyList<int> EmulatorPids() =>
        ProcessProbe.FindPids(cmd => (cmd.Contains("emulator_main", StringComparison.Ordinal) || cmd.Contains("gateway_main", StringComparison.Ordinal))
            && cmd.Contains($":{EmulatorPort}", StringComparison.Ordinal));

    /// <summary>The six redis-server processes of the cluster.</summary>
    public static IReadOnlyList<int> RedisPids() =>
        ProcessProbe.FindPids(cmd => cmd.StartsWith("redis-server", StringComparison.Ordinal)
            && RedisPorts.Any(p => cmd.Contains($":{p.ToString(CultureInfo.InvariantCulture)} ", StringComparison.Ordinal) || cmd.EndsWith($":{p}", StringComparison.Ordinal)));

    private static int PortFromEnvironment(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : fallback;
}
