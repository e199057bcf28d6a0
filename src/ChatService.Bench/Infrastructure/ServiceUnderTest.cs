using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Spanner.Client;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// The chat service as a child process: the Release <c>ChatService.dll</c> copied next to the bench by
/// its project reference, on free loopback ports, against the local stack, on a database of its
/// own that is dropped when the service is disposed. Its output is kept (the last lines) for errors.
/// </summary>
internal sealed class ServiceUnderTest : IAsyncDisposable
{
    private const int KeptOutputLines = 200;
    public const string ProjectId = "local-project";
    public const string InstanceId = "bench-instance";

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly string _databaseId;
    private readonly bool _dropDatabase;
    private int _errorLogs;
    private bool _disposed;

    private ServiceUnderTest(Process process, string databaseId, bool dropDatabase, int grpcPort, int httpPort)
    {
        _process = process;
        _databaseId = databaseId;
        _dropDatabase = dropDatabase;
        GrpcAddress = new Uri($"http://127.0.0.1:{grpcPort}");
        HttpPort = httpPort;
    }

    public Uri GrpcAddress { get; }

    public int HttpPort { get; }

    public int Pid => _process.Id;

    public string DatabaseId => _databaseId;

    /// <summary>Error and critical log entries the service printed so far (console format <c>fail:</c>/<c>crit:</c>).</summary>
    public int ErrorLogs => Volatile.Read(ref _errorLogs);

    /// <summary>The last lines the service printed.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>A database id no one else uses (the emulator keeps at most 100 per instance, so it is dropped afterwards).</summary>
    public static string NewDatabaseId() => "bench" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Starts the service with these settings on top of its appsettings and waits until it is ready.</summary>
    /// <param name="settings">Configuration keys (<c>Section:Key</c>) and values.</param>
    /// <param name="databaseId">The database; created by the service, dropped on dispose when <paramref name="dropDatabase"/>.</param>
    /// <param name="dropDatabase">False when another service instance still uses the database.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    public static async Task<ServiceUnderTest> StartAsync(
        IReadOnlyDictionary<string, string> settings, string databaseId, bool dropDatabase, CancellationToken cancellationToken)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ChatService.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("ChatService.dll is not next to the bench; build the bench (it references the service)", dll);
        }

        if (dropDatabase)
        {
            await DatabaseLedger.AddAsync(databaseId);
        }

        var grpcPort = FreePort();
        var httpPort = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(dll);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{grpcPort}";
        info.Environment["Kestrel__Endpoints__Grpc__Protocols"] = "Http2";
        info.Environment["Kestrel__Endpoints__Http__Url"] = $"http://127.0.0.1:{httpPort}";
        info.Environment["Kestrel__Endpoints__Http__Protocols"] = "Http1";
        info.Environment["Spanner__EmulatorHost"] = LocalStack.EmulatorHost;
        info.Environment["Spanner__ProjectId"] = ProjectId;
        info.Environment["Spanner__InstanceId"] = InstanceId;
        info.Environment["Spanner__DatabaseId"] = databaseId;
        info.Environment["Redis__Endpoints"] = LocalStack.RedisEndpoints;
        // Production, except that load users are named by the x-user-id header and each sends in a
        // closed loop far faster than a person: the bench measures the service, not its per-user limits.
        info.Environment["Auth__AllowUserIdHeader"] = "true";
        info.Environment["Limits__SendsPerMinute"] = "1000000";
        info.Environment["Limits__SendBurst"] = "1000000";
        info.Environment["Limits__ConcurrentRepliesPerUser"] = "1000000";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the service process");
        var service = new ServiceUnderTest(process, databaseId, dropDatabase, grpcPort, httpPort);
        process.OutputDataReceived += (_, e) => service.Append(e.Data);
        process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
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

    /// <summary>RSS and peak RSS of the service process, in bytes.</summary>
    public (long Rss, long PeakRss) Memory() => ProcessProbe.Memory(_process.Id);

    /// <summary>SIGKILL, for a service with thousands of replies in flight whose graceful hand-over is not being measured.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(keepDatabase: false);

    /// <summary>Stops the service; <paramref name="keepDatabase"/> leaves its database for another instance to serve.</summary>
    public async ValueTask DisposeAsync(bool keepDatabase)
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            // SIGTERM: the host's graceful shutdown (replies in flight get Dispatch:ShutdownGrace), then SIGKILL.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }
        }

        _process.Dispose();
        if (_dropDatabase && !keepDatabase)
        {
            await DropDatabaseAsync(_databaseId);
            await DatabaseLedger.RemoveAsync(_databaseId);
        }
    }

    /// <summary>Drops a database the bench created; a missing one is fine.</summary>
    public static async Task DropDatabaseAsync(string databaseId)
    {
        await using var admin = SpannerAdminClient.Create(new SpannerClientOptions
        {
            ProjectId = ProjectId,
            InstanceId = InstanceId,
            DatabaseId = databaseId,
            EmulatorHost = LocalStack.EmulatorHost,
        });
        await admin.DropDatabaseAsync();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the service exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/healthz/ready"), cancellationToken);
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
                // Slow start.
            }

            await Task.Delay(200, cancellationToken);
        }

        throw new TimeoutException($"the service did not become ready within 90 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _errorLogs);
        }

        lock (_output)
        {
            _output.Enqueue(line);
            if (_output.Count > KeptOutputLines)
            {
                _output.Dequeue();
            }
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
