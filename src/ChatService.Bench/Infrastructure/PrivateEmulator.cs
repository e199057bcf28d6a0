using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// A Spanner emulator of the bench's own on a free port (<c>--fresh-emulator</c>), stopped at the end.
/// The shared emulator's strong reads slow down with its history (measured: 3 ms on a fresh one,
/// 50 ms after ten minutes of benchmarks, 330 ms after an hour of test runs), which would make
/// numbers depend on what ran before.
/// </summary>
internal sealed class PrivateEmulator : IAsyncDisposable
{
    private const string DefaultBinary = "/usr/lib/google-cloud-sdk/bin/cloud_spanner_emulator/emulator_main";

    private readonly Process _process;

    private PrivateEmulator(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<PrivateEmulator> StartAsync(CancellationToken cancellationToken)
    {
        var binary = Environment.GetEnvironmentVariable("SPANNER_EMULATOR_BIN") is { Length: > 0 } configured ? configured : DefaultBinary;
        if (!File.Exists(binary))
        {
            throw new FileNotFoundException("the Spanner emulator is not installed (set SPANNER_EMULATOR_BIN)", binary);
        }

        var port = ServiceUnderTest.FreePort();
        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("--host_port");
        info.ArgumentList.Add($"localhost:{port.ToString(CultureInfo.InvariantCulture)}");
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the emulator");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var emulator = new PrivateEmulator(process, port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("localhost", port, cancellationToken);
                return emulator;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100, cancellationToken);
            }
            catch
            {
                await emulator.DisposeAsync();
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
