using System.Diagnostics;
using System.Globalization;
using ChatService.Testing;

namespace ChatService.Tests.Infrastructure;

// Fault injection for tests of the service's behaviour when a Redis node dies.
public sealed partial class LocalStack
{
    private static readonly TimeSpan NodeExitTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReplicaSyncWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The precondition of every test that kills a primary: the cluster is ok and each primary has a
    /// replica that has finished syncing from it, so the cluster can fail over. Waits up to 30 s for a
    /// sync in progress (e.g. a node a previous test brought back), then fails saying what is missing.
    /// </summary>
    public async Task AssertEveryPrimaryHasSyncedReplicaAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? problem = null;
            foreach (var port in _redisPorts)
            {
                if (problem is null && !await IsRedisNodeOkAsync(port, cancellationToken))
                {
                    problem = $"127.0.0.1:{port} is not in an ok cluster (cluster_state or slots not ok)";
                }
            }

            problem ??= await DescribeUnsyncedReplicationAsync(cancellationToken);
            if (problem is null)
            {
                return;
            }

            if (clock.Elapsed > ReplicaSyncWait)
            {
                throw new InvalidOperationException(
                    $"Precondition failed: every Redis primary must have a synced replica before a node is killed, " +
                    $"but after {ReplicaSyncWait.TotalSeconds:0} s {problem}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>
    /// Kills one Redis Cluster node abruptly (SIGKILL through stack.sh's pid file, or <c>DEBUG SEGFAULT</c>
    /// for a node stack.sh did not start) and waits until its port refuses connections. The cluster fails
    /// its slots over to the node's replica after the node timeout (5 s with stack.sh).
    /// </summary>
    public async Task KillRedisNodeAsync(int port)
    {
        EnsureRedisPort(port);
        var cancellationToken = TestContext.Current.CancellationToken;
        if (!await TryKillOwnNodeAsync(port, cancellationToken))
        {
            await TrySendRedisCommandAsync(port, cancellationToken, "DEBUG", "SEGFAULT");
        }

        var deadline = Stopwatch.StartNew();
        while (await IsPortOpenAsync("127.0.0.1", port, cancellationToken))
        {
            if (deadline.Elapsed > NodeExitTimeout)
            {
                throw new InvalidOperationException($"Redis node 127.0.0.1:{port} still accepts connections after being killed.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>
    /// Brings a killed node back (and anything else missing) by running <c>scripts/stack.sh up</c>,
    /// which returns once the whole cluster says <c>cluster_state:ok</c> again and every replica has
    /// finished its sync; the next fault test starts from a cluster that can fail over.
    /// </summary>
    public async Task RestartRedisNodeAsync(int port)
    {
        EnsureRedisPort(port);
        var cancellationToken = TestContext.Current.CancellationToken;
        await RunStackScriptAsync("up", StackUpTimeout, cancellationToken);
        if (!await IsRedisNodeOkAsync(port, cancellationToken))
        {
            throw new InvalidOperationException($"Redis node 127.0.0.1:{port} is not back in a healthy cluster after scripts/stack.sh up.");
        }

        if (await DescribeUnsyncedReplicationAsync(cancellationToken) is { } problem)
        {
            throw new InvalidOperationException($"scripts/stack.sh up returned, but {problem}.");
        }
    }

    private async Task<bool> TryKillOwnNodeAsync(int port, CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(StackEndpoints.StateDirectory, "redis", port.ToString(CultureInfo.InvariantCulture), "redis.pid");
        if (!File.Exists(pidFile)
            || !int.TryParse(await File.ReadAllTextAsync(pidFile, cancellationToken), CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            if (!process.ProcessName.StartsWith("redis-server", StringComparison.Ordinal))
            {
                return false; // A stale pid file whose pid was reused.
            }

            process.Kill();
            await process.WaitForExitAsync(cancellationToken);
            return true;
        }
        catch (ArgumentException)
        {
            return false; // No such process: the pid file is stale.
        }
    }

    private void EnsureRedisPort(int port)
    {
        if (!_redisPorts.Contains(port))
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, $"Not a node of the local cluster ({RedisConfiguration}).");
        }
    }
}
