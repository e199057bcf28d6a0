using Google.Protobuf;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// Passes each method of the generated binding on with a request marshaller whose parse
/// failures are INVALID_ARGUMENT saying what is wrong. grpc-dotnet answers an exception from a
/// deserializer with UNKNOWN and logs it as an error of ours; a request that does not parse is
/// the caller's error. The request is still parsed once, by the generated parser. Unary methods
/// named in <paramref name="boundElsewhere"/> are left out (a method provider binds them).
/// </summary>
internal sealed class StrictRequestBinder(ServiceBinderBase inner, ServiceDescriptor service, params string[] boundElsewhere) : ServiceBinderBase
{
    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
    {
        if (!boundElsewhere.Contains(method.Name))
        {
            inner.AddMethod(Strict(method), handler);
        }
    }

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) =>
        inner.AddMethod(Strict(method), handler);

    private Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var typeName = service.FindMethodByName(method.Name)?.InputType.FullName ?? typeof(TRequest).Name;
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, StrictMarshaller(method.RequestMarshaller, typeName), method.ResponseMarshaller);
    }

    /// <summary><paramref name="marshaller"/>, with parse failures turned into INVALID_ARGUMENT naming <paramref name="typeName"/>.</summary>
    public static Marshaller<TRequest> StrictMarshaller<TRequest>(Marshaller<TRequest> marshaller, string typeName)
    {
        var parse = marshaller.ContextualDeserializer;
        return new Marshaller<TRequest>(marshaller.ContextualSerializer, context =>
        {
            try
            {
                return parse(context);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"the request is not a valid {typeName}: {ex.Message}"));
            }
        });
    }
}
