using System.Globalization;
using ChatService.Testing;

namespace ChatService.Bench.Infrastructure;

/// <summary>The local stack the bench runs against, and which processes are its parts, for the CPU split.</summary>
internal static class BenchStack
{
    /// <summary>
    /// Where the stack listens, as <c>scripts/stack.sh</c> reads it from the environment; while a scenario
    /// runs with <c>--fresh-emulator</c>, the emulator is that scenario's own.
    /// </summary>
    /// <remarks>Read on first use, not in a type initializer, so a bad port variable fails with its own message.</remarks>
    public static StackEndpoints Endpoints
    {
        get => field ??= StackEndpoints.FromEnvironment();
        set;
    }

    /// <summary>The emulator's processes (<c>emulator_main</c>, and <c>gateway_main</c> when started by gcloud).</summary>
    public static IReadOnlyList<int> EmulatorPids()
    {
        var port = Endpoints.EmulatorPort.ToString(CultureInfo.InvariantCulture);
        return ProcessProbe.FindPids(cmd => (cmd.Contains("emulator_main", StringComparison.Ordinal) || cmd.Contains("gateway_main", StringComparison.Ordinal))
            && cmd.Contains($":{port}", StringComparison.Ordinal));
    }

    /// <summary>The six redis-server processes of the cluster.</summary>
    public static IReadOnlyList<int> RedisPids()
    {
        var ports = Endpoints.RedisPorts.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToList();
        return ProcessProbe.FindPids(cmd => cmd.StartsWith("redis-server", StringComparison.Ordinal)
            && ports.Any(p => cmd.Contains($":{p} ", StringComparison.Ordinal) || cmd.EndsWith($":{p}", StringComparison.Ordinal)));
    }
}
