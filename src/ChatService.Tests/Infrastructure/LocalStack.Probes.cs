using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ChatService.Tests.Infrastructure;

// Health probes over plain sockets: no dependency on redis-cli or on the code under test.
public sealed partial class LocalStack
{
    private const int AllSlots = 16384;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private async Task<bool> IsStackUpAsync(CancellationToken cancellationToken)
    {
        var probes = _redisPorts.Select(port => IsRedisNodeOkAsync(port, cancellationToken))
            .Append(IsPortOpenAsync("localhost", _emulatorPort, cancellationToken));
        var results = await Task.WhenAll(probes);
        return results.All(ok => ok) && await DescribeUnsyncedReplicationAsync(cancellationToken) is null;
    }

    /// <summary>
    /// Null when every replica has finished its sync from its primary and every primary that serves
    /// slots has a replica online; otherwise what is missing. A cluster says <c>cluster_state:ok</c>
    /// before its replicas have synced, and a primary killed then is never failed over.
    /// </summary>
    private async Task<string?> DescribeUnsyncedReplicationAsync(CancellationToken cancellationToken)
    {
        foreach (var port in _redisPorts)
        {
            var replication = await TrySendRedisCommandAsync(port, cancellationToken, "INFO", "replication");
            if (replication is null)
            {
                return $"127.0.0.1:{port} does not answer INFO replication";
            }

            var lines = replication.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var fields = InfoFields(replication);
            switch (fields.GetValueOrDefault("role"))
            {
                case "master":
                    if (await ServesSlotsAsync(port, cancellationToken)
                        && !lines.Any(line => line.StartsWith("slave", StringComparison.Ordinal) && line.Contains("state=online", StringComparison.Ordinal)))
                    {
                        return $"primary 127.0.0.1:{port} has no replica online (connected_slaves:{fields.GetValueOrDefault("connected_slaves")})";
                    }

                    break;
                case "slave":
                    if (fields.GetValueOrDefault("master_link_status") != "up" || fields.GetValueOrDefault("master_sync_in_progress") != "0")
                    {
                        return $"replica 127.0.0.1:{port} has not synced from {fields.GetValueOrDefault("master_host")}:{fields.GetValueOrDefault("master_port")} " +
                            $"(master_link_status:{fields.GetValueOrDefault("master_link_status")}, master_sync_in_progress:{fields.GetValueOrDefault("master_sync_in_progress")})";
                    }

                    break;
                default:
                    return $"127.0.0.1:{port} reports role '{fields.GetValueOrDefault("role")}'";
            }
        }

        return null;
    }

    private static async Task<bool> ServesSlotsAsync(int port, CancellationToken cancellationToken)
    {
        var nodes = await TrySendRedisCommandAsync(port, cancellationToken, "CLUSTER", "NODES");
        // "<id> <addr> myself,master - 0 0 <epoch> connected <slots>...": slot ranges follow the 8th field.
        var myself = nodes?.Split('\n').FirstOrDefault(line => line.Contains("myself", StringComparison.Ordinal));
        return myself is not null && myself.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length > 8;
    }

    private static Dictionary<string, string> InfoFields(string info) =>
        info.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);

    /// <summary>True when the node says <c>cluster_state:ok</c> with every slot served.</summary>
    private static async Task<bool> IsRedisNodeOkAsync(int port, CancellationToken cancellationToken)
    {
        var info = await TrySendRedisCommandAsync(port, cancellationToken, "CLUSTER", "INFO");
        if (info is null)
        {
            return false;
        }

        var fields = InfoFields(info);
        var allSlots = AllSlots.ToString(CultureInfo.InvariantCulture);
        return fields.GetValueOrDefault("cluster_state") == "ok"
            && fields.GetValueOrDefault("cluster_slots_ok") == allSlots;
    }

    private static async Task<bool> IsPortOpenAsync(string host, int port, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (IsProbeFailure(e, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>
    /// Sends one command in RESP and returns a simple or bulk string reply; null when the node can't be
    /// reached, answers with an error, or closes the connection (as <c>DEBUG SEGFAULT</c> does).
    /// </summary>
    private static async Task<string?> TrySendRedisCommandAsync(int port, CancellationToken cancellationToken, params string[] arguments)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();

            var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
            foreach (var argument in arguments)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
            }

            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);

            using var reader = new StreamReader(stream, Encoding.UTF8);
            var header = await reader.ReadLineAsync(timeout.Token);
            switch (header)
            {
                case ['+', .. var simple]:
                    return simple;
                case ['$', .. var length] when int.TryParse(length, CultureInfo.InvariantCulture, out var count) && count >= 0:
                    // CLUSTER INFO and the like are ASCII, so characters and bytes agree.
                    var body = new char[count];
                    var read = await reader.ReadBlockAsync(body, timeout.Token);
                    return read == count ? new string(body) : null;
                default:
                    return null;
            }
        }
        catch (Exception e) when (IsProbeFailure(e, cancellationToken))
        {
            return null;
        }
    }

    private static bool IsProbeFailure(Exception e, CancellationToken cancellationToken) =>
        e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested);
}
