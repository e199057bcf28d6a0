using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace ChatService.Tests.Readme;

/// <summary>
/// Does what grpcurl does with a <see cref="GrpcurlInvocation"/>, over a channel the caller
/// already has (the address on the command line is the caller's business): <c>list</c> prints the
/// services reflection names; a method call resolves the method through reflection, reads the
/// <c>-d</c> JSON into its request type (proto or JSON field names, unknown fields refused), sends
/// it as raw bytes with the <c>-H</c> headers as metadata, and prints each response message as
/// one JSON object. A call that ends with a status other than OK throws its
/// <see cref="RpcException"/>, which is where grpcurl would exit non-zero.
/// </summary>
public sealed class GrpcurlClient(CallInvoker invoker, TypeRegistry compiled)
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

    private readonly ReflectionMethodResolver _resolver = new(invoker, compiled);
    private readonly JsonParser _parser = new(JsonParser.Settings.Default.WithTypeRegistry(compiled));
    private readonly JsonFormatter _formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(compiled).WithIndentation());

    /// <summary>How long one command may take, so a stream that never ends fails the test instead of hanging it.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>What grpcurl would print on standard output.</summary>
    public async Task<string> RunAsync(GrpcurlInvocation invocation, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        foreach (var (name, value) in invocation.Headers)
        {
            headers.Add(name, value);
        }

        var options = new CallOptions(headers, DateTime.UtcNow + Timeout, cancellationToken);
        if (invocation.IsList)
        {
            return string.Concat((await _resolver.ListServicesAsync(options)).Select(service => service + "\n"));
        }

        var method = await _resolver.ResolveAsync(invocation.Method!, options);
        var request = _parser.Parse(invocation.RequestJson, method.InputType).ToByteArray();
        var call = new Method<byte[], byte[]>(
            method.IsServerStreaming ? MethodType.ServerStreaming : MethodType.Unary, method.Service, method.Name, Bytes, Bytes);
        var output = new StringBuilder();
        if (method.IsServerStreaming)
        {
            using var stream = invoker.AsyncServerStreamingCall(call, null, options, request);
            await foreach (var response in stream.ResponseStream.ReadAllAsync(cancellationToken))
            {
                output.Append(Format(method, response));
            }
        }
        else
        {
            using var unary = invoker.AsyncUnaryCall(call, null, options, request);
            output.Append(Format(method, await unary.ResponseAsync));
        }

        return output.ToString();
    }

    private string Format(ResolvedMethod method, byte[] response) =>
        _formatter.Format(method.OutputType.Parser.ParseFrom(response)) + "\n";
}
