using System.Diagnostics;
using System.Text;
using ChatService.Testing;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// Assembly fixture that makes sure the local stack is running before any test starts: the Cloud Spanner
/// emulator and a 6-node Redis Cluster. When they are not already up it runs <c>scripts/stack.sh up</c>
/// (which starts, or repairs, only what is missing) and fails with that script's output if it can't.
/// The stack is shared by every test run and developer on the machine, so it is never stopped here.
/// </summary>
/// <remarks>
/// Ports follow the same environment variables as <c>scripts/stack.sh</c> (see <see cref="StackEndpoints"/>):
/// <c>SPANNER_EMULATOR_PORT</c> (default 9010) and <c>REDIS_CLUSTER_PORTS</c>, the first of six ports
/// (default 7000).
/// </remarks>
public sealed partial class LocalStack : IAsyncLifetime
{
    /// <summary>
    /// Longer than stack.sh's own waits (its lock up to 10 min, apt-get's dpkg lock up to 10 min per
    /// step, the replicas' sync), so a first run that installs redis-server is not cut short here.
    /// </summary>
    private static readonly TimeSpan StackUpTimeout = TimeSpan.FromMinutes(35);

    private readonly int _emulatorPort;
    private readonly int[] _redisPorts;
    private readonly Lazy<string> _repoRoot = new(FindRepoRoot);

    public LocalStack()
    {
        Endpoints = StackEndpoints.FromEnvironment();
        _emulatorPort = Endpoints.EmulatorPort;
        _redisPorts = [.. Endpoints.RedisPorts];
        RedisEndpoints = Endpoints.RedisEndpoints;
    }

    /// <summary>Where the stack listens, as the bench and <c>scripts/stack.sh</c> read it.</summary>
    public StackEndpoints Endpoints { get; }

    /// <summary>The emulator's gRPC address, as <c>SPANNER_EMULATOR_HOST</c> takes it.</summary>
    public string EmulatorHost => Endpoints.EmulatorHost;

    /// <summary>Every Redis Cluster node, <c>host:port</c>.</summary>
    public IReadOnlyList<string> RedisEndpoints { get; }

    /// <summary>The nodes comma-joined: a StackExchange.Redis configuration string.</summary>
    public string RedisConfiguration => Endpoints.RedisConfiguration;

    /// <summary>The emulator project tests create their instance and databases in.</summary>
    public string ProjectId { get; } = "test-project";

    /// <summary>The emulator instance tests create their databases in.</summary>
    public string InstanceId { get; } = "test-instance";

    /// <summary>The repository root: the nearest directory above the test binaries holding ChatService.sln.</summary>
    public string RepoRoot => _repoRoot.Value;

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        if (await IsStackUpAsync(cancellationToken))
        {
            return;
        }

        await RunStackScriptAsync("up", StackUpTimeout, cancellationToken);
        if (!await IsStackUpAsync(cancellationToken))
        {
            throw new InvalidOperationException(
                $"scripts/stack.sh up succeeded, but {EmulatorHost} or the Redis Cluster on {RedisConfiguration} " +
                $"is still not usable. Check `scripts/stack.sh status` and the logs in {StackEndpoints.StateDirectory}/logs/.");
        }
    }

    /// <summary>Leaves the stack running: it is shared and reused by the next run.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Runs <c>scripts/stack.sh &lt;command&gt;</c>; throws with its output when it fails or times out.</summary>
    private async Task RunStackScriptAsync(string command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var script = Path.Combine(RepoRoot, "scripts", "stack.sh");
        var startInfo = new ProcessStartInfo("bash")
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(script);
        startInfo.ArgumentList.Add(command);
        Endpoints.ApplyTo(startInfo.Environment);

        var output = new StringBuilder();
        void Append(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        }

        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start bash {script} {command}.");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"scripts/stack.sh {command} did not finish within {timeout.TotalSeconds:0} s. Output so far:\n{Snapshot(output)}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"scripts/stack.sh {command} failed with exit code {process.ExitCode}:\n{Snapshot(output)}");
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "ChatService.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No ChatService.sln above {AppContext.BaseDirectory}: cannot find scripts/stack.sh to start the local stack.");
    }
}
