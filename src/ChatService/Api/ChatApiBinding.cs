using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// How grpc-dotnet binds <see cref="ChatApi"/>, named by the <see cref="BindServiceMethodAttribute"/>
/// on it in place of the generated one: the generated binding, with each request's marshaller
/// made strict (see <see cref="StrictRequestBinder"/>), but for GetHistory, which
/// <see cref="HistoryMethod"/> binds. Runs once, when the service is mapped.
/// </summary>
internal static class ChatApiBinding
{
    /// <summary>Server reflection looks for the service's descriptor next to the bind method.</summary>
    public static ServiceDescriptor Descriptor => V1.ChatService.Descriptor;

    /// <remarks>
    /// Takes the generated base type, not <see cref="ChatApi"/>: grpc-dotnet looks up each
    /// handler as an override of a method of this parameter's type.
    /// </remarks>
    public static void BindService(ServiceBinderBase binder, V1.ChatService.ChatServiceBase? service) =>
        V1.ChatService.BindService(new StrictRequestBinder(binder, Descriptor, HistoryMethod.Name), service);
}
