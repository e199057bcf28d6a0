using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace ChatService.Testing;

/// <summary>
/// A Cloud Spanner emulator of the caller's own on a free port, killed on dispose. Tests use one to
/// neither depend on nor disturb the shared emulator of <c>scripts/stack.sh</c> (fault injection, a
/// fresh instance); the bench uses one because the shared emulator's strong reads slow down with its
/// history (measured: 3 ms on a fresh one, 50 ms after ten minutes of benchmarks, 330 ms after an
/// hour of test runs), which would make its numbers depend on what ran before.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    /// <summary>The variable <c>scripts/stack.sh</c> also reads for the emulator binary.</summary>
    public const string BinaryVariable = "SPANNER_EMULATOR_BIN";

    /// <summary>Where Google's apt package <c>google-cloud-cli-spanner-emulator</c> installs it.</summary>
    public const string DefaultBinary = "/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/emulator_main";

    private const int KeptOutputLines = 50;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly OutputTail _output;

    private EmulatorProcess(Process process, int port)
    {
        _process = process;
        _output = OutputTail.Follow(process, KeptOutputLines);
        Port = port;
    }

    public int Port { get; }

    /// <summary><c>localhost:port</c>, for <c>SpannerClientOptions.EmulatorHost</c>.</summary>
    public string HostPort => string.Create(CultureInfo.InvariantCulture, $"localhost:{Port}");

    /// <summary>
    /// Where <c>emulator_main</c> is, searched as <c>scripts/stack.sh</c> searches: <c>SPANNER_EMULATOR_BIN</c>,
    /// the Debian package's path, next to a <c>gcloud</c> on PATH (a gcloud SDK installed from Google's
    /// archive), then <c>emulator_main</c> on PATH. The first candidate when none exists, for the message.
    /// </summary>
    public static string FindBinary()
    {
        if (Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } configured)
        {
            return configured;
        }

        if (File.Exists(DefaultBinary))
        {
            return DefaultBinary;
        }

        if (OnPath("gcloud") is { } gcloud)
        {
            var sdkBin = Path.GetDirectoryName(new FileInfo(gcloud).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? gcloud);
            var besideGcloud = Path.Combine(sdkBin ?? "", "cloud_spanner_emulator", "emulator_main");
            if (File.Exists(besideGcloud))
            {
                return besideGcloud;
            }
        }

        return OnPath("emulator_main") ?? DefaultBinary;
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Starts the emulator and returns once it accepts connections.</summary>
    /// <param name="faultInjection">Starts it with <c>--enable_fault_injection</c>, so requests can ask it for errors.</param>
    /// <param name="cancellationToken">Stops waiting (and the emulator).</param>
    public static async Task<EmulatorProcess> StartAsync(bool faultInjection = false, CancellationToken cancellationToken = default)
    {
        var binary = FindBinary();
        if (!File.Exists(binary))
        {
            throw new FileNotFoundException($"The Spanner emulator is not at {binary}; set {BinaryVariable} (as for scripts/stack.sh).", binary);
        }

        var port = FreePort.Next();
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--host_port");
        info.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"localhost:{port}"));
        if (faultInjection)
        {
            info.ArgumentList.Add("--enable_fault_injection");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start the Spanner emulator {binary}.");
        var emulator = new EmulatorProcess(process, port);
        try
        {
            await emulator.WaitUntilListeningAsync(cancellationToken);
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }

        return emulator;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(ExitTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone (or already disposed).
        }

        _process.Dispose();
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The Spanner emulator exited with code {_process.ExitCode}:\n{_output.Text}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("localhost", Port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
            }
        }

        throw new TimeoutException(
            $"The Spanner emulator did not listen on port {Port} within {StartTimeout.TotalSeconds:0} s:\n{_output.Text}");
    }
}
