using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Reflection.V1Alpha;

namespace ChatService.Tests.Readme;

/// <summary>
/// Resolves methods the way grpcurl does without proto files: through the server's reflection
/// service (v1alpha), fetching the file that defines the service and every file it imports, and
/// building descriptors from them. C# protobuf has no dynamic message, so the request and response
/// types are then looked up among the compiled ones (<paramref name="compiled"/>) by full name, and
/// only accepted when their file is byte for byte the file reflection served.
/// </summary>
public sealed class ReflectionMethodResolver(CallInvoker invoker, TypeRegistry compiled)
{
    private readonly ServerReflection.ServerReflectionClient _client = new(invoker);

    /// <summary>The services reflection lists, sorted as grpcurl prints them.</summary>
    public async Task<IReadOnlyList<string>> ListServicesAsync(CallOptions options)
    {
        var response = await AskAsync(new ServerReflectionRequest { ListServices = "" }, options);
        return response.ListServicesResponse.Service.Select(service => service.Name).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Resolves <c>package.Service/Method</c>.</summary>
    public async Task<ResolvedMethod> ResolveAsync(string fullMethod, CallOptions options)
    {
        var slash = fullMethod.LastIndexOf('/');
        var (serviceName, methodName) = (fullMethod[..slash], fullMethod[(slash + 1)..]);
        var files = await FetchFilesAsync(serviceName, options);
        var service = files.SelectMany(file => file.Services).FirstOrDefault(s => s.FullName == serviceName)
            ?? throw new InvalidOperationException($"reflection served no service {serviceName}");
        var method = service.FindMethodByName(methodName)
            ?? throw new InvalidOperationException($"service {serviceName} has no method {methodName}");
        if (method.IsClientStreaming)
        {
            throw new NotSupportedException($"{fullMethod} is client streaming, which this stand-in for grpcurl does not send");
        }

        return new ResolvedMethod(serviceName, methodName, Compiled(method.InputType), Compiled(method.OutputType), method.IsServerStreaming);
    }

    /// <summary>The file defining <paramref name="symbol"/> and its imports, transitively, as descriptors.</summary>
    private async Task<IReadOnlyList<FileDescriptor>> FetchFilesAsync(string symbol, CallOptions options)
    {
        var files = new Dictionary<string, FileDescriptorProto>();
        var data = new Dictionary<string, ByteString>();
        var request = new ServerReflectionRequest { FileContainingSymbol = symbol };
        while (true)
        {
            var response = await AskAsync(request, options);
            foreach (var bytes in response.FileDescriptorResponse.FileDescriptorProto)
            {
                var proto = FileDescriptorProto.Parser.ParseFrom(bytes);
                files.TryAdd(proto.Name, proto);
                data.TryAdd(proto.Name, bytes);
            }

            if (request.FileByFilename is { Length: > 0 } asked && !files.ContainsKey(asked))
            {
                throw new InvalidOperationException($"reflection answered the request for {asked} with other files");
            }

            var missing = files.Values.SelectMany(file => file.Dependency).FirstOrDefault(name => !files.ContainsKey(name));
            if (missing is null)
            {
                break;
            }

            request = new ServerReflectionRequest { FileByFilename = missing };
        }

        return FileDescriptor.BuildFromByteStrings(DependenciesFirst(files).Select(name => data[name]));
    }

    /// <summary>File names ordered so every file comes after the files it imports, as BuildFromByteStrings needs.</summary>
    private static List<string> DependenciesFirst(Dictionary<string, FileDescriptorProto> files)
    {
        var ordered = new List<string>();
        var visited = new HashSet<string>();
        void Visit(string name)
        {
            if (visited.Add(name))
            {
                foreach (var dependency in files[name].Dependency)
                {
                    Visit(dependency);
                }

                ordered.Add(name);
            }
        }

        foreach (var name in files.Keys)
        {
            Visit(name);
        }

        return ordered;
    }

    /// <summary>The compiled type with the reflected type's name, checked to come from the very file reflection served.</summary>
    private MessageDescriptor Compiled(MessageDescriptor reflected)
    {
        var type = compiled.Find(reflected.FullName)
            ?? throw new InvalidOperationException($"no compiled message type {reflected.FullName} to parse and format it with");
        if (type.File.Name != reflected.File.Name || !type.File.SerializedData.Equals(reflected.File.SerializedData))
        {
            throw new InvalidOperationException(
                $"reflection serves {reflected.FullName} from a {reflected.File.Name} that differs from the compiled {type.File.Name}");
        }

        return type;
    }

    private async Task<ServerReflectionResponse> AskAsync(ServerReflectionRequest request, CallOptions options)
    {
        using var call = _client.ServerReflectionInfo(options);
        await call.RequestStream.WriteAsync(request, options.CancellationToken);
        await call.RequestStream.CompleteAsync();
        if (!await call.ResponseStream.MoveNext(options.CancellationToken))
        {
            throw new InvalidOperationException($"reflection did not answer {request}");
        }

        var response = call.ResponseStream.Current;
        if (response.MessageResponseCase == ServerReflectionResponse.MessageResponseOneofCase.ErrorResponse)
        {
            throw new InvalidOperationException(
                $"reflection refused {request}: {(StatusCode)response.ErrorResponse.ErrorCode} {response.ErrorResponse.ErrorMessage}");
        }

        return response;
    }
}
