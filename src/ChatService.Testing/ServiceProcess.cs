using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace ChatService.Testing;

/// <summary>
/// The service as a real OS process (<c>dotnet ChatService.dll</c>), for what an in-process host can't
/// show: a SIGKILL or a SIGTERM, two replicas on one database, the service's own memory and CPU.
/// Listens on free loopback ports (gRPC over HTTP/2, and HTTP/1.1 for health, metrics and gRPC-Web);
/// callers are named by the <c>x-user-id</c> header. Its last output lines are kept for failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private const int KeptOutputLines = 500;

    /// <summary>Generous: a first start migrates the schema on an emulator that other runs on this machine keep busy.</summary>
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly OutputTail _output;
    private readonly TimeSpan _disposeGrace;
    private readonly Lazy<GrpcChannel> _channel;
    private int _errorLogs;
    private bool _disposed;

    private ServiceProcess(Process process, int grpcPort, int httpPort, TimeSpan disposeGrace)
    {
        _process = process;
        _disposeGrace = disposeGrace;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        GrpcAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{grpcPort}"));
        _channel = new Lazy<GrpcChannel>(() => GrpcChannel.ForAddress(GrpcAddress));
        _output = OutputTail.Follow(process, KeptOutputLines, CountErrorLog);
    }

    public int GrpcPort { get; }

    /// <summary>The HTTP/1.1 port: <c>/healthz/*</c>, <c>/metrics</c>, gRPC-Web.</summary>
    public int HttpPort { get; }

    public Uri GrpcAddress { get; }

    public int Pid => _process.Id;

    /// <summary>The last lines the service printed.</summary>
    public string Output => _output.Text;

    /// <summary>Error and critical log entries the service printed so far (console format <c>fail:</c>/<c>crit:</c>).</summary>
    public int ErrorLogs => Volatile.Read(ref _errorLogs);

    /// <summary>Starts the service and returns once <c>/healthz/ready</c> says OK; a service that doesn't get there is killed.</summary>
    public static async Task<ServiceProcess> StartAsync(ServiceProcessOptions options, CancellationToken cancellationToken)
    {
        var assembly = Path.GetFullPath(options.ServiceAssembly);
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException("ChatService.dll is missing; build the project that references the service.", assembly);
        }

        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The content root: where the service finds its appsettings.json.
            WorkingDirectory = Path.GetDirectoryName(assembly),
        };
        info.ArgumentList.Add(assembly);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = options.EnvironmentName;
        info.Environment["Kestrel__Endpoints__Grpc__Url"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{grpcPort}");
        info.Environment["Kestrel__Endpoints__Grpc__Protocols"] = "Http2";
        info.Environment["Kestrel__Endpoints__Http__Url"] = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}");
        info.Environment["Kestrel__Endpoints__Http__Protocols"] = "Http1";
        // Tests and bench name their users with the header rather than signing a token per user.
        info.Environment["Auth__AllowUserIdHeader"] = "true";
        foreach (var (key, value) in options.Settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the service process.");
        var service = new ServiceProcess(process, grpcPort, httpPort, options.DisposeGrace);
        try
        {
            await service.WaitUntilReadyAsync(cancellationToken);
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }

        return service;
    }

    /// <summary>Calls on one channel to the service (shared by every caller), as <paramref name="userId"/>.</summary>
    public CallInvoker InvokerFor(string userId) =>
        _channel.Value.Intercept(headers =>
        {
            headers.Add("x-user-id", userId);
            return headers;
        });

    /// <summary>SIGKILL: no shutdown hooks, no graceful anything. Nothing happens if it has exited.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: the host's graceful shutdown; waits for the process to exit.</summary>
    /// <exception cref="TimeoutException">It is still running after <paramref name="timeout"/> (disposing kills it).</exception>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        await TerminateAsync();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The service did not exit within {timeout.TotalSeconds:0.#} s of SIGTERM:\n{Output}");
        }
    }

    /// <summary>Stops the process: SIGTERM and <see cref="ServiceProcessOptions.DisposeGrace"/> first when that is set, then SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_channel.IsValueCreated)
        {
            _channel.Value.Dispose();
        }

        if (!_process.HasExited && _disposeGrace > TimeSpan.Zero)
        {
            await TerminateAsync();
            try
            {
                await _process.WaitForExitAsync().WaitAsync(_disposeGrace);
            }
            catch (TimeoutException)
            {
                // Killed below.
            }
        }

        await KillAsync();
        _process.Dispose();
    }

    private async Task TerminateAsync()
    {
        if (_process.HasExited)
        {
            return; // Its pid may belong to another process by now.
        }

        // .NET can only SIGKILL a process; kill(1) sends the signal the host handles as a graceful stop.
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ready = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{HttpPort}/healthz/ready"));
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < ReadyTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The service exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(ready, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A slow start: the 2 s request timeout, not the caller.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        throw new TimeoutException($"The service did not become ready within {ReadyTimeout.TotalSeconds:0} s:\n{Output}");
    }

    private void CountErrorLog(string line)
    {
        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _errorLogs);
        }
    }
}
