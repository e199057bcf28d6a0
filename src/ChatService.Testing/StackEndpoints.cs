using System.Globalization;

namespace ChatService.Testing;

/// <summary>
/// Where the local stack of <c>scripts/stack.sh</c> listens: the Cloud Spanner emulator and a
/// 6-node Redis Cluster. Read from the variables the script reads (<c>scripts/lib/ports.sh</c>), so
/// tests and bench find a stack that was started on other ports beside the default one.
/// </summary>
public sealed record StackEndpoints
{
    public const string EmulatorPortVariable = "SPANNER_EMULATOR_PORT";
    public const string RedisPortsVariable = "REDIS_CLUSTER_PORTS";
    public const int DefaultEmulatorPort = 9010;
    public const int DefaultFirstRedisPort = 7000;

    /// <summary>
    /// Where <c>scripts/stack.sh</c> keeps pid files, node state and logs, for every clone on the
    /// machine (ports are the machine's, so is the stack): <c>CHAT_STACK_DIR</c>, else
    /// <c>$XDG_STATE_HOME/chatservice-stack</c>, else <c>~/.local/state/chatservice-stack</c>.
    /// </summary>
    public static string StateDirectory =>
        Environment.GetEnvironmentVariable("CHAT_STACK_DIR") is { Length: > 0 } explicitDirectory
            ? explicitDirectory
            : Path.Combine(
                Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } state
                    ? state
                    : Path.Combine(Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } home ? home : "/tmp", ".local", "state"),
                "chatservice-stack");

    /// <summary>Three primaries with one replica each, on consecutive ports from the first.</summary>
    public const int RedisNodeCount = 6;

    public StackEndpoints(int emulatorPort, int firstRedisPort)
    {
        EmulatorPort = emulatorPort;
        FirstRedisPort = firstRedisPort;
    }

    /// <summary>The emulator's gRPC port (settable with <c>with</c>: the bench points at an emulator of its own).</summary>
    public int EmulatorPort
    {
        get;
        init => field = ValidPort(value, nameof(EmulatorPort));
    }

    /// <summary>The first of the Redis Cluster's ports, as <c>REDIS_CLUSTER_PORTS</c> gives it.</summary>
    public int FirstRedisPort
    {
        get;
        init => field = ValidPort(value, nameof(FirstRedisPort));
    }

    /// <summary>The emulator's gRPC address, as <c>SPANNER_EMULATOR_HOST</c> and <c>Spanner:EmulatorHost</c> take it.</summary>
    public string EmulatorHost => string.Create(CultureInfo.InvariantCulture, $"localhost:{EmulatorPort}");

    public IReadOnlyList<int> RedisPorts => [.. Enumerable.Range(FirstRedisPort, RedisNodeCount)];

    /// <summary>Every Redis Cluster node, <c>host:port</c>.</summary>
    public IReadOnlyList<string> RedisEndpoints =>
        [.. RedisPorts.Select(port => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}"))];

    /// <summary>The nodes comma-joined: what <c>Redis:Endpoints</c> and StackExchange.Redis take.</summary>
    public string RedisConfiguration => string.Join(',', RedisEndpoints);

    /// <summary>The endpoints <c>scripts/stack.sh</c> would use in this process's environment (defaults where unset).</summary>
    /// <exception cref="InvalidOperationException">A variable is set to something that is not a port number.</exception>
    public static StackEndpoints FromEnvironment() =>
        new(PortFromEnvironment(EmulatorPortVariable, DefaultEmulatorPort), PortFromEnvironment(RedisPortsVariable, DefaultFirstRedisPort));

    /// <summary>
    /// Sets the port variables in a child process's environment, so a script it runs (<c>scripts/stack.sh up</c>)
    /// works on this stack even when these endpoints did not come from this process's own environment.
    /// </summary>
    public void ApplyTo(IDictionary<string, string?> environment)
    {
        environment[EmulatorPortVariable] = EmulatorPort.ToString(CultureInfo.InvariantCulture);
        environment[RedisPortsVariable] = FirstRedisPort.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The service settings (<c>Section:Key</c>) that put it on this stack, with its data in the given emulator database.</summary>
    public Dictionary<string, string> ServiceSettings(string projectId, string instanceId, string databaseId) => new()
    {
        ["Spanner:EmulatorHost"] = EmulatorHost,
        ["Spanner:ProjectId"] = projectId,
        ["Spanner:InstanceId"] = instanceId,
        ["Spanner:DatabaseId"] = databaseId,
        ["Redis:Endpoints"] = RedisConfiguration,
    };

    private static int PortFromEnvironment(string variable, int defaultPort)
    {
        // Empty counts as unset, as in ports.sh's ${VAR:-default}.
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultPort;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new InvalidOperationException($"{variable}='{value}' is not a port number.");
    }

    private static int ValidPort(int port, string name) =>
        port is > 0 and <= 65535 ? port : throw new ArgumentOutOfRangeException(name, port, "Not a TCP port.");
}
