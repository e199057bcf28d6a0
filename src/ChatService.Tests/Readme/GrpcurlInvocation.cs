namespace ChatService.Tests.Readme;

/// <summary>
/// A grpcurl command line, read the way grpcurl (Go's flag package) reads it: flags first
/// (<c>-plaintext</c>, <c>-H 'name: value'</c>, <c>-d '&lt;json&gt;'</c>), then the address, then
/// <c>list</c> or <c>package.Service/Method</c>. Other flags and verbs throw
/// <see cref="NotSupportedException"/>; a command grpcurl itself would refuse throws
/// <see cref="FormatException"/>.
/// </summary>
public sealed record GrpcurlInvocation(
    bool Plaintext,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    string? Data,
    string Address,
    string? Method)
{
    /// <summary>True for <c>grpcurl ... list</c>: print the services the server's reflection names.</summary>
    public bool IsList => Method is null;

    /// <summary>The request JSON: grpcurl sends an empty message when there is no <c>-d</c>.</summary>
    public string RequestJson => Data ?? "{}";

    /// <summary>Reads grpcurl's arguments (without the program name).</summary>
    public static GrpcurlInvocation Parse(IReadOnlyList<string> arguments)
    {
        var plaintext = false;
        var headers = new List<KeyValuePair<string, string>>();
        string? data = null;
        var index = 0;
        for (; index < arguments.Count && arguments[index].StartsWith('-'); index++)
        {
            var flag = arguments[index];
            switch (flag)
            {
                case "-plaintext":
                    plaintext = true;
                    break;
                case "-H":
                    headers.Add(ParseHeader(ValueOf(arguments, ++index, flag)));
                    break;
                case "-d":
                    data = ValueOf(arguments, ++index, flag);
                    if (data.StartsWith('@'))
                    {
                        throw new NotSupportedException("-d @ (the request from standard input) is not supported");
                    }

                    break;
                default:
                    throw new NotSupportedException($"the grpcurl flag {flag} is not supported");
            }
        }

        var positional = arguments.Skip(index).ToList();
        return positional switch
        {
            [var address, "list"] => new GrpcurlInvocation(plaintext, headers, data, address, null),
            [_, "list", ..] => throw new NotSupportedException("grpcurl list <service> is not supported; only list"),
            [_, "describe", ..] => throw new NotSupportedException("grpcurl describe is not supported"),
            [var address, var method] when method.Split('/') is [{ Length: > 0 } service, { Length: > 0 }] && service.Contains('.') =>
                new GrpcurlInvocation(plaintext, headers, data, address, method),
            [_, var method] => throw new NotSupportedException($"'{method}' is not list nor package.Service/Method"),
            _ => throw new FormatException(
                $"grpcurl takes the address and then list or a method; this has {positional.Count} arguments after the flags: {string.Join(' ', positional)}"),
        };
    }

    private static string ValueOf(IReadOnlyList<string> arguments, int index, string flag) =>
        index < arguments.Count ? arguments[index] : throw new FormatException($"grpcurl's {flag} needs a value");

    /// <summary>grpcurl splits a header at its first colon, lowercases the name and trims both parts.</summary>
    private static KeyValuePair<string, string> ParseHeader(string header)
    {
        var colon = header.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"the header '{header}' is not 'name: value'");
        }

        return new(header[..colon].Trim().ToLowerInvariant(), header[(colon + 1)..].Trim());
    }
}
