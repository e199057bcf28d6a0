using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ChatService.Tests.Spanner;

/// <summary>
/// A private Cloud Spanner emulator process on a free port, so these tests do not depend on (or disturb) the
/// shared emulator of scripts/stack.sh. Killed on dispose.
/// </summary>
public sealed class EmulatorProcess : IAsyncDisposable
{
    private const string DefaultBinary = "/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/emulator_main";

    private readonly Process _process;

    private EmulatorProcess(Process process, string hostPort)
    {
        _process = process;
        HostPort = hostPort;
    }

    /// <summary>"localhost:port" for <c>SpannerClientOptions.EmulatorHost</c>.</summary>
    public string HostPort { get; }

    public static async Task<EmulatorProcess> StartAsync(bool faultInjection = false)
    {
        var binary = Environment.GetEnvironmentVariable("SPANNER_EMULATOR_BIN") ?? DefaultBinary;
        if (!File.Exists(binary))
        {
            throw new InvalidOperationException($"Spanner emulator not found at {binary} (set SPANNER_EMULATOR_BIN, as for scripts/stack.sh).");
        }

        var port = FreePort();
        var hostPort = $"localhost:{port}";
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--host_port");
        info.ArgumentList.Add(hostPort);
        if (faultInjection)
        {
            info.ArgumentList.Add("--enable_fault_injection");
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the Spanner emulator.");
        // Drain the pipes so a chatty emulator never blocks on a full buffer.
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var emulator = new EmulatorProcess(process, hostPort);
        try
        {
            await WaitUntilListeningAsync(process, port);
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
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilListeningAsync(Process process, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The Spanner emulator exited with code {process.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("localhost", port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new TimeoutException($"The Spanner emulator did not listen on port {port} within 30 s.");
    }
}
