using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ChatService.Testing;

namespace ChatService.Tests.Deployment;

/// <summary>
/// A private redis-server that speaks only TLS (certificate from <see cref="TestCertificateAuthority"/>) and
/// requires a password, with an ACL user besides: what a managed Redis with in-transit encryption and AUTH
/// asks of a client. It is a single node, not a cluster; the client settings under test are the same.
/// </summary>
internal sealed class TlsRedisServer : IAsyncDisposable
{
    public const string DefaultPassword = "default-secret";
    public const string AclUser = "chatservice";
    public const string AclPassword = "acl-secret";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private TlsRedisServer(Process process, int port, string directory, string caPath)
    {
        _process = process;
        Port = port;
        Directory = directory;
        CaCertificatePath = caPath;
    }

    public int Port { get; }

    public string Directory { get; }

    /// <summary>The PEM file of the CA that signed the server's certificate.</summary>
    public string CaCertificatePath { get; }

    public static async Task<TlsRedisServer> StartAsync(TestCertificateAuthority authority, CancellationToken cancellationToken)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("tls-redis-").FullName;
        var caPath = authority.WriteCertificate(directory, "ca.crt");
        var (certificate, key) = authority.IssueServerCertificate(directory);
        var port = FreePort.Next();
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
        {
            "--port", "0", "--bind", "127.0.0.1", "--tls-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tls-cert-file", certificate, "--tls-key-file", key, "--tls-ca-cert-file", caPath, "--tls-auth-clients", "no",
            "--requirepass", DefaultPassword, "--user", AclUser, "on", $">{AclPassword}", "~*", "&*", "+@all",
            "--save", "", "--appendonly", "no", "--dir", directory,
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        var server = new TlsRedisServer(process, port, directory, caPath);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await server.WaitUntilListeningAsync(cancellationToken);
        return server;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
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
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private async Task WaitUntilListeningAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        throw new TimeoutException($"redis-server did not listen on {Port} within 15 s:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
