using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using ChatService.Testing;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// A Redis Cluster of a test's own: one primary that owns all 16384 slots and its replicas, each a
/// <c>redis-server</c> child process on a free loopback port whose cluster-bus port (port + 10000) is
/// free too, both outside the kernel's ephemeral port range, without persistence, in a temporary
/// directory; killed and deleted on dispose. Nodes can
/// be frozen (SIGSTOP), thawed, killed (SIGKILL), restarted on their port with their
/// <c>nodes.conf</c> (so they rejoin under their node id) and promoted, so a test can fail the
/// cluster over as often as it likes without disturbing the shared cluster of
/// <c>scripts/stack.sh</c> or any other test.
/// </summary>
public sealed class PrivateRedisCluster : IAsyncDisposable
{
    private const int BusPortOffset = 10000;

    /// <summary>The lowest port a node may take: the ones below are where fixed services usually listen.</summary>
    private const int LowestPort = 10000;

    /// <summary>Where the kernel picks the local port of an outgoing connection (and of a listener on port 0).</summary>
    private const string EphemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly string _directory;
    private readonly TimeSpan _nodeTimeout;

    private PrivateRedisCluster(string directory, TimeSpan nodeTimeout)
    {
        _directory = directory;
        _nodeTimeout = nodeTimeout;
    }

    public IReadOnlyList<Node> Nodes { get; private set; } = [];

    /// <summary>Every node, <c>host:port</c>, comma-joined: what <c>Redis:Endpoints</c> takes.</summary>
    public string Configuration => string.Join(',', Nodes.Select(n => n.Address));

    /// <summary>
    /// Starts <paramref name="replicas"/> + 1 nodes, gives the first every slot, makes the others its
    /// replicas, and returns once the cluster is ok and every replica has synced.
    /// </summary>
    public static async Task<PrivateRedisCluster> StartAsync(int replicas, TimeSpan nodeTimeout, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "chat-redis-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        var cluster = new PrivateRedisCluster(directory, nodeTimeout);
        try
        {
            // Listed as they start, so a failure part way kills those already running.
            var nodes = new List<Node>();
            cluster.Nodes = nodes;
            var taken = new HashSet<int>();
            for (var i = 0; i <= replicas; i++)
            {
                nodes.Add(await cluster.StartNewNodeAsync(i, taken, cancellationToken));
            }

            var primary = nodes[0];
            await RedisNodeClient.ExecuteAsync(primary.Port, cancellationToken, "CLUSTER", "ADDSLOTSRANGE", 0, 16383);
            foreach (var replica in nodes.Skip(1))
            {
                await RedisNodeClient.ExecuteAsync(replica.Port, cancellationToken, "CLUSTER", "MEET", "127.0.0.1", primary.Port);
            }

            // A node can only replicate a primary it has heard of through the bus.
            foreach (var replica in nodes.Skip(1))
            {
                await WaitAsync($"127.0.0.1:{replica.Port} to learn of the primary", cancellationToken, async () =>
                    (await RedisNodeClient.TextAsync(replica.Port, cancellationToken, "CLUSTER", "NODES")).Contains(primary.Id, StringComparison.Ordinal));
                await RedisNodeClient.ExecuteAsync(replica.Port, cancellationToken, "CLUSTER", "REPLICATE", primary.Id);
            }

            foreach (var replica in nodes.Skip(1))
            {
                await WaitUntilSyncedAsync(replica, primary, cancellationToken);
            }

            // A node that just started refuses queries for a moment (CLUSTERDOWN) even with every slot covered.
            foreach (var node in nodes)
            {
                await WaitAsync($"{node} to say cluster_state:ok", cancellationToken, async () => await IsClusterOkAsync(node, cancellationToken));
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGSTOP: the node stops answering anything (clients, its primary, the cluster bus) until <see cref="Resume"/>.</summary>
    public static void Pause(Node node) => Signal(node, SigStop);

    /// <summary>SIGCONT.</summary>
    public static void Resume(Node node) => Signal(node, SigCont);

    /// <summary>
    /// Cuts <paramref name="replica"/> off from <paramref name="primary"/> for good: it is frozen
    /// (SIGSTOP), then the primary closes its replication link, so nothing the primary acknowledges
    /// from now on reaches it, not even bytes already on their way (a frozen node's socket still
    /// takes them in, and it would apply them once thawed). Promote it with
    /// <see cref="FrozenReplica.KillPrimaryAndTakeOverAsync"/>.
    /// </summary>
    public static async Task<FrozenReplica> FreezeAsync(Node replica, Node primary, CancellationToken cancellationToken)
    {
        // Opened (and answered) before the freeze, so a command written on it later is read as soon as the node is thawed.
        var connection = await RedisNodeConnection.OpenAsync(replica.Port, cancellationToken);
        try
        {
            await connection.ExecuteAsync(cancellationToken, "PING");
            Pause(replica);
            var cut = await RedisNodeClient.ExecuteAsync(primary.Port, cancellationToken, "CLIENT", "KILL", "TYPE", "replica");
            if (cut is not 1L)
            {
                Resume(replica);
                throw new InvalidOperationException($"{primary} closed {cut} replication links instead of its one replica's.");
            }

            return new FrozenReplica(replica, connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A replica that <see cref="FreezeAsync"/> cut off from its primary.</summary>
    public sealed class FrozenReplica : IDisposable
    {
        private readonly RedisNodeConnection _connection;

        internal FrozenReplica(Node node, RedisNodeConnection connection)
        {
            Node = node;
            _connection = connection;
        }

        public Node Node { get; }

        /// <summary>
        /// The primary dies (SIGKILL) and the replica, thawed, takes over with <c>CLUSTER FAILOVER
        /// TAKEOVER</c> (no agreement or vote needed): the command is queued on it before the kill, so
        /// it is the first thing the replica does when thawed, before it could try to reconnect to its
        /// primary or answer a client looking for the new primary. Returns once the replica says it is
        /// the primary of an ok cluster and the old primary's process is gone.
        /// </summary>
        public async Task KillPrimaryAndTakeOverAsync(Node primary, CancellationToken cancellationToken)
        {
            var process = primary.Process ?? throw new InvalidOperationException($"{primary} is not running.");
            await _connection.WriteAsync(cancellationToken, "CLUSTER", "FAILOVER", "TAKEOVER");
            process.Kill();
            Resume(Node);
            var reply = await _connection.ReadAsync(cancellationToken);
            if (reply is not "OK")
            {
                throw new InvalidOperationException($"{Node} answered {reply} to CLUSTER FAILOVER TAKEOVER.");
            }

            await process.WaitForExitAsync(cancellationToken);
            process.Dispose();
            primary.Process = null;
            await WaitAsync($"{Node} to become the primary of an ok cluster", cancellationToken, async () =>
                await RoleAsync(Node, cancellationToken) == "master" && await IsClusterOkAsync(Node, cancellationToken));
        }

        public void Dispose() => _connection.Dispose();
    }

    /// <summary>Starts a killed node again on its port and with its nodes.conf; returns once it answers.</summary>
    public async Task RestartAsync(Node node, CancellationToken cancellationToken)
    {
        if (node.Process is not null)
        {
            throw new InvalidOperationException($"{node} is still running.");
        }

        if (!await TryLaunchAsync(node, cancellationToken))
        {
            throw new InvalidOperationException($"{node} did not start again on its port:\n{node.LogTail()}");
        }
    }

    /// <summary>
    /// A manual failover (<c>CLUSTER FAILOVER</c> on a synced replica): its primary stops taking writes,
    /// the replica catches up with everything the primary acknowledged and takes over, losing nothing,
    /// as an operator or a rolling upgrade does it. Returns once the replica is the primary of an ok cluster.
    /// </summary>
    public static async Task FailOverToAsync(Node replica, Node primary, CancellationToken cancellationToken)
    {
        // The primary only takes part if it knows the node as its replica (a node that just rejoined
        // says so on the bus a moment after it says so to clients).
        await WaitAsync($"{primary} to list {replica} as its replica", cancellationToken, async () =>
            ((object?[])(await RedisNodeClient.ExecuteAsync(primary.Port, cancellationToken, "CLUSTER", "REPLICAS", primary.Id))!)
                .Any(line => RedisNodeClient.AsText(line).StartsWith(replica.Id, StringComparison.Ordinal)));
        await RedisNodeClient.ExecuteAsync(replica.Port, cancellationToken, "CLUSTER", "FAILOVER");
        await WaitAsync($"{replica} to become the primary of an ok cluster", cancellationToken, async () =>
            await RoleAsync(replica, cancellationToken) == "master" && await IsClusterOkAsync(replica, cancellationToken),
            () => replica.LogTail(40));
    }

    /// <summary>Waits until <paramref name="replica"/> replicates <paramref name="primary"/> and has finished its sync.</summary>
    public static async Task WaitUntilSyncedAsync(Node replica, Node primary, CancellationToken cancellationToken) =>
        await WaitAsync($"{replica} to sync from {primary}", cancellationToken, async () =>
        {
            var fields = RedisNodeClient.Fields(await RedisNodeClient.TextAsync(replica.Port, cancellationToken, "INFO", "replication"));
            return fields.GetValueOrDefault("role") == "slave"
                && fields.GetValueOrDefault("master_port") == primary.Port.ToString(CultureInfo.InvariantCulture)
                && fields.GetValueOrDefault("master_link_status") == "up"
                && fields.GetValueOrDefault("master_sync_in_progress") == "0";
        }, () => replica.LogTail());

    /// <summary>True when the node says <c>cluster_state:ok</c> (every slot served, and it takes queries).</summary>
    public static async Task<bool> IsClusterOkAsync(Node node, CancellationToken cancellationToken) =>
        RedisNodeClient.Fields(await RedisNodeClient.TextAsync(node.Port, cancellationToken, "CLUSTER", "INFO")).GetValueOrDefault("cluster_state") == "ok";

    /// <summary><c>master</c> or <c>slave</c>, as the node's ROLE says.</summary>
    public static async Task<string> RoleAsync(Node node, CancellationToken cancellationToken) =>
        RedisNodeClient.AsText(((object?[])(await RedisNodeClient.ExecuteAsync(node.Port, cancellationToken, "ROLE"))!)[0]);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await StopAsync(node);
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it is under the temporary directory.
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 10 ms; throws after <see cref="StartTimeout"/>.</summary>
    public static async Task WaitAsync(string what, CancellationToken cancellationToken, Func<Task<bool>> condition, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is RedisNodeException or IOException or SocketException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = e;
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"Waited {StartTimeout.TotalSeconds:0} s for {what}" +
                    (last is null ? "" : $" (last error: {last.Message})") + (diagnostics is null ? "" : $"\n{diagnostics()}"));
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    private async Task<Node> StartNewNodeAsync(int index, HashSet<int> taken, CancellationToken cancellationToken)
    {
        var shared = StackEndpoints.FromEnvironment().RedisPorts.SelectMany(p => new[] { p, p + BusPortOffset }).ToHashSet();
        var candidates = PortsOutsideEphemeralRange();
        for (var attempt = 0; attempt < 20; attempt++)
        {
            // Without such ports (an unusual ephemeral range), one the OS hands out: a restart may then find it taken.
            var port = candidates.Length > 0 ? candidates[Random.Shared.Next(candidates.Length)] : FreePort.Next();
            var bus = port + BusPortOffset;
            if (bus > 65535 || taken.Contains(port) || taken.Contains(bus) || shared.Contains(port) || shared.Contains(bus)
                || !IsFree(port) || !IsFree(bus))
            {
                continue;
            }

            taken.Add(port);
            taken.Add(bus);
            var directory = Path.Combine(_directory, index.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(directory);
            var node = new Node(port, directory);
            if (await TryLaunchAsync(node, cancellationToken))
            {
                try
                {
                    node.Id = await RedisNodeClient.TextAsync(port, cancellationToken, "CLUSTER", "MYID");
                    return node;
                }
                catch
                {
                    // Not in Nodes yet, so dispose would not find it.
                    await StopAsync(node);
                    throw;
                }
            }

            // Someone took the port or its bus port between the check and the bind: try others.
            File.Delete(Path.Combine(directory, "nodes.conf"));
        }

        throw new InvalidOperationException("Found no free pair of loopback ports (data, data + 10000) for a Redis node.");
    }

    /// <summary>
    /// Every port from <see cref="LowestPort"/> whose bus port (port + 10000) is a port too, and
    /// neither of them in the kernel's ephemeral range. A node is restarted on its port (and bus
    /// port) hundreds of times: in that range, an outgoing connection of any process could take one
    /// while the node is down, and the node would not start again. Outside it, only a process
    /// that chose the port itself can.
    /// </summary>
    private static int[] PortsOutsideEphemeralRange()
    {
        var (low, high) = (49152, 65535); // IANA's dynamic range, where the file is missing (not Linux).
        try
        {
            var range = File.ReadAllText(EphemeralRangeFile).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(range[0], CultureInfo.InvariantCulture), int.Parse(range[1], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            // Keep the default.
        }

        return [.. Enumerable.Range(LowestPort, 65535 - BusPortOffset - LowestPort + 1)
            .Where(port => (port < low || port > high) && (port + BusPortOffset < low || port + BusPortOffset > high))];
    }

    /// <summary>Starts the node's process; false when it exits before it answers (its ports were taken).</summary>
    private async Task<bool> TryLaunchAsync(Node node, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("redis-server")
        {
            WorkingDirectory = node.Directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            "--port", node.Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", node.Directory,
            "--logfile", "redis.log",
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", ((long)_nodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
            // Failovers are the test's to make (TAKEOVER), never the cluster's own.
            "--cluster-replica-no-failover", "yes",
            // No persistence: a killed node comes back empty and takes a full copy from its primary,
            // streamed at once rather than after the default 5 s wait for more replicas.
            "--save", "",
            "--appendonly", "no",
            "--repl-diskless-sync", "yes",
            "--repl-diskless-sync-delay", "0",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-server.");
        node.Process = process;
        try
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < StartTimeout)
            {
                if (process.HasExited)
                {
                    await StopAsync(node);
                    return false;
                }

                try
                {
                    if (await RedisNodeClient.TextAsync(node.Port, cancellationToken, "PING") == "PONG")
                    {
                        return true;
                    }
                }
                catch (Exception e) when (e is SocketException or IOException or RedisNodeException)
                {
                    // Not listening yet (or still loading).
                }

                await Task.Delay(10, cancellationToken);
            }

            throw new TimeoutException($"{node} did not answer within {StartTimeout.TotalSeconds:0} s:\n{node.LogTail()}");
        }
        catch
        {
            // Timed out, or the test was cancelled: the process goes with the failure.
            await StopAsync(node);
            throw;
        }
    }

    /// <summary>Kills the node's process, if it has one (with any child it forked), and waits until it is gone.</summary>
    private static async Task StopAsync(Node node)
    {
        if (node.Process is not { } process)
        {
            return;
        }

        node.Process = null;
        try
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private const int SigCont = 18;
    private const int SigStop = 19;

    private static void Signal(Node node, int signal)
    {
        var process = node.Process ?? throw new InvalidOperationException($"{node} is not running.");
        if (Kill(process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>One node: its port (the bus is port + 10000), directory, process and cluster node id.</summary>
    public sealed class Node(int port, string directory)
    {
        public int Port { get; } = port;

        public string Directory { get; } = directory;

        /// <summary>The node id (<c>CLUSTER MYID</c>): kept across restarts, in its nodes.conf.</summary>
        public string Id { get; internal set; } = "";

        public string Address => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

        internal Process? Process { get; set; }

        /// <summary>The last lines of the node's log, for failure messages.</summary>
        public string LogTail(int lines = 20)
        {
            var path = Path.Combine(Directory, "redis.log");
            try
            {
                var all = File.ReadAllLines(path);
                return $"--- {this} log ---\n" + string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
            }
            catch (IOException)
            {
                return $"(no log at {path})";
            }
        }

        public override string ToString() => $"redis {Address} ({(Id.Length >= 8 ? Id[..8] : Id)})";
    }
}
