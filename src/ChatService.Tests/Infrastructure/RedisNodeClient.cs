using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ChatService.Tests.Infrastructure;

/// <summary>An error reply of a Redis node (<c>-ERR ...</c>, <c>-MOVED ...</c>, <c>-CLUSTERDOWN ...</c>).</summary>
public sealed class RedisNodeException(int port, string message) : Exception($"127.0.0.1:{port} answered {message}")
{
    public string Reply { get; } = message;
}

/// <summary>
/// Commands to one Redis node over a fresh loopback connection each time, in plain RESP: what a test
/// needs to inspect and steer a cluster node by node, with none of a cluster client's routing,
/// retries or reconnects between it and the node. Replies are <c>string</c> (simple strings),
/// <c>long</c>, <c>byte[]</c> (bulk strings), <c>object?[]</c> (arrays) or null; error replies throw
/// <see cref="RedisNodeException"/>.
/// </summary>
public static class RedisNodeClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>Runs one command and returns its reply.</summary>
    public static async Task<object?> ExecuteAsync(int port, CancellationToken cancellationToken, params object[] command) =>
        (await PipelineAsync(port, cancellationToken, command))[^1];

    /// <summary>
    /// Runs one command after <c>READONLY</c> on the same connection, so a replica answers reads of
    /// the slots it replicates instead of redirecting them to its primary.
    /// </summary>
    public static async Task<object?> ReadAsync(int port, CancellationToken cancellationToken, params object[] command) =>
        (await PipelineAsync(port, cancellationToken, ["READONLY"], command))[^1];

    /// <summary>A simple or bulk string reply as text.</summary>
    public static async Task<string> TextAsync(int port, CancellationToken cancellationToken, params object[] command) =>
        AsText(await ExecuteAsync(port, cancellationToken, command));

    /// <summary>The hash at <paramref name="key"/> as the node holds it (empty when there is none), read with <c>READONLY</c>.</summary>
    public static async Task<Dictionary<string, byte[]>> HashAsync(int port, string key, CancellationToken cancellationToken)
    {
        var reply = (object?[])(await ReadAsync(port, cancellationToken, "HGETALL", key))!;
        var hash = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < reply.Length; i += 2)
        {
            hash[AsText(reply[i])] = (byte[])reply[i + 1]!;
        }

        return hash;
    }

    /// <summary>The <c>field:value</c> lines of an INFO-style reply (INFO, CLUSTER INFO).</summary>
    public static Dictionary<string, string> Fields(string info) =>
        info.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2))
            .Where(pair => pair.Length == 2)
            .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);

    public static string AsText(object? reply) => reply switch
    {
        string text => text,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        long number => number.ToString(CultureInfo.InvariantCulture),
        null => "",
        _ => throw new InvalidCastException($"not a string reply: {reply.GetType().Name}"),
    };

    private static async Task<object?[]> PipelineAsync(int port, CancellationToken cancellationToken, params object[][] commands)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var connection = await RedisNodeConnection.OpenAsync(port, timeout.Token);
        foreach (var command in commands)
        {
            await connection.WriteAsync(timeout.Token, command);
        }

        var replies = new object?[commands.Length];
        RedisNodeException? error = null;
        for (var i = 0; i < commands.Length; i++)
        {
            try
            {
                replies[i] = await connection.ReadAsync(timeout.Token);
            }
            catch (RedisNodeException e)
            {
                error ??= e;
            }
        }

        return error is null ? replies : throw error;
    }
}

/// <summary>
/// One open connection to a Redis node, for what needs the connection itself: a command written
/// now (say, to a frozen node, which finds it on its socket when it is thawed) and its reply read later.
/// </summary>
public sealed class RedisNodeConnection : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly ReplyReader _reader;

    private RedisNodeConnection(TcpClient client, int port)
    {
        _client = client;
        _stream = client.GetStream();
        _reader = new ReplyReader(_stream, port);
    }

    public static async Task<RedisNodeConnection> OpenAsync(int port, CancellationToken cancellationToken)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new RedisNodeConnection(client, port);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Sends a command without waiting for its reply.</summary>
    public async Task WriteAsync(CancellationToken cancellationToken, params object[] command)
    {
        using var request = new MemoryStream();
        Write(request, $"*{command.Length}\r\n");
        foreach (var argument in command)
        {
            var bytes = argument switch
            {
                byte[] raw => raw,
                IFormattable formattable => Encoding.UTF8.GetBytes(formattable.ToString(null, CultureInfo.InvariantCulture)),
                _ => Encoding.UTF8.GetBytes(argument.ToString()!),
            };
            Write(request, $"${bytes.Length}\r\n");
            request.Write(bytes);
            Write(request, "\r\n");
        }

        await _stream.WriteAsync(request.ToArray(), cancellationToken);
    }

    /// <summary>The next reply; an error reply throws <see cref="RedisNodeException"/>.</summary>
    public Task<object?> ReadAsync(CancellationToken cancellationToken) => _reader.ReadAsync(cancellationToken);

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<object?> ExecuteAsync(CancellationToken cancellationToken, params object[] command)
    {
        await WriteAsync(cancellationToken, command);
        return await ReadAsync(cancellationToken);
    }

    public void Dispose() => _client.Dispose();

    private static void Write(MemoryStream stream, string text) => stream.Write(Encoding.UTF8.GetBytes(text));

    private sealed class ReplyReader(NetworkStream stream, int port)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        public async Task<object?> ReadAsync(CancellationToken cancellationToken)
        {
            var line = await LineAsync(cancellationToken);
            var body = line[1..];
            switch (line[0])
            {
                case '+':
                    return body;
                case '-':
                    // Thrown after the whole reply is read: the caller may read the next one.
                    throw new RedisNodeException(port, body);
                case ':':
                    return long.Parse(body, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(body, CultureInfo.InvariantCulture);
                    return length < 0 ? null : await BytesAsync(length, cancellationToken);
                case '*':
                    var count = int.Parse(body, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return null;
                    }

                    var items = new object?[count];
                    RedisNodeException? error = null;
                    for (var i = 0; i < count; i++)
                    {
                        try
                        {
                            items[i] = await ReadAsync(cancellationToken);
                        }
                        catch (RedisNodeException e)
                        {
                            error ??= e;
                        }
                    }

                    return error is null ? items : throw error;
                default:
                    throw new IOException($"127.0.0.1:{port} sent an unexpected reply: {line}");
            }
        }

        private async Task<string> LineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var end = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (end > _start && _buffer[end - 1] == '\r')
                {
                    var line = Encoding.UTF8.GetString(_buffer, _start, end - 1 - _start);
                    _start = end + 1;
                    return line;
                }

                await FillAsync(cancellationToken);
            }
        }

        private async Task<byte[]> BytesAsync(int length, CancellationToken cancellationToken)
        {
            var bytes = new byte[length];
            var copied = 0;
            while (copied < length)
            {
                if (_start == _end)
                {
                    await FillAsync(cancellationToken);
                }

                var n = Math.Min(length - copied, _end - _start);
                Array.Copy(_buffer, _start, bytes, copied, n);
                _start += n;
                copied += n;
            }

            while (_end - _start < 2)
            {
                await FillAsync(cancellationToken);
            }

            _start += 2;
            return bytes;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new IOException($"127.0.0.1:{port} sent a line longer than {_buffer.Length} bytes");
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new IOException($"127.0.0.1:{port} closed the connection mid-reply");
            }

            _end += read;
        }
    }
}
