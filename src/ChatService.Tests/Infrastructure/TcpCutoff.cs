using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on a free loopback port in front of a real server (the shared emulator, say), that a
/// test can cut off and restore. <see cref="Cut"/> closes the listening socket, so new connections
/// are refused, and resets every connection it carries, as a server that went away would; the
/// server behind it keeps its state (sessions, databases). <see cref="Restore"/> listens again on
/// the same port.
/// </summary>
public sealed class TcpCutoff : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly ConcurrentDictionary<Socket, Socket> _open = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _lock = new();
    private int _cuts;
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    private TcpCutoff(string targetHost, int targetPort, int port)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Port = port;
    }

    /// <summary>The loopback port the proxy listens on (the same after a restore).</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Connections being carried now.</summary>
    public int OpenConnections => _open.Count;

    /// <summary>Starts a proxy to <paramref name="target"/> (<c>host:port</c>) on a free loopback port.</summary>
    public static TcpCutoff Start(string target)
    {
        var colon = target.LastIndexOf(':');
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var proxy = new TcpCutoff(target[..colon], int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), ((IPEndPoint)listener.LocalEndpoint).Port);
        proxy.Listen(listener);
        return proxy;
    }

    /// <summary>Refuses new connections and resets the open ones.</summary>
    public void Cut()
    {
        lock (_lock)
        {
            _listener?.Stop();
            _listener = null;
            _cuts++;
        }

        foreach (var (client, upstream) in _open)
        {
            Reset(client);
            Reset(upstream);
        }
    }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Restore()
    {
        lock (_lock)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            Listen(listener);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        Cut();
        await _accepting;
        _disposed.Dispose();
    }

    private void Listen(TcpListener listener)
    {
        _listener = listener;
        _accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_disposed.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(_disposed.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // Cut or disposed.
                return;
            }

            _ = CarryAsync(client, Volatile.Read(ref _cuts));
        }
    }

    /// <param name="cutsAtAccept">Cuts before the client was accepted: a cut while it was connecting upstream resets it too.</param>
    private async Task CarryAsync(Socket client, int cutsAtAccept)
    {
        var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort, _disposed.Token);
            _open[client] = upstream;
            if (Volatile.Read(ref _cuts) != cutsAtAccept)
            {
                // Cut() ran between the accept and here and did not see this connection.
                Reset(client);
                Reset(upstream);
                return;
            }

            using var done = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token);
            await Task.WhenAny(PumpAsync(client, upstream, done.Token), PumpAsync(upstream, client, done.Token));
            await done.CancelAsync();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The target is down, or the connection was cut.
        }
        finally
        {
            _open.TryRemove(client, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Either side closed or reset.
        }
    }

    /// <summary>Closes with a TCP reset (linger 0) rather than an orderly FIN.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }
}
