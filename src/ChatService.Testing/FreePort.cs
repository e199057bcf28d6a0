using System.Net;
using System.Net.Sockets;

namespace ChatService.Testing;

/// <summary>Loopback ports nobody listens on, for processes that must be told their port before they start.</summary>
public static class FreePort
{
    /// <summary>
    /// A port the OS just handed out and took back. Another process may take it before the caller
    /// binds it, so a server that can report the port it bound (Kestrel on port 0) should do that instead.
    /// </summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
