using Google.Protobuf.Reflection;

namespace ChatService.Tests.Readme;

/// <summary>
/// A method as server reflection describes it, with the compiled message types of its request and
/// response (proven to be the ones reflection serves), which can parse and format JSON.
/// </summary>
/// <param name="Service">The service's full name, e.g. <c>chat.v1.ChatService</c>.</param>
/// <param name="Name">The method's name, e.g. <c>SendMessage</c>.</param>
public sealed record ResolvedMethod(
    string Service,
    string Name,
    MessageDescriptor InputType,
    MessageDescriptor OutputType,
    bool IsServerStreaming);
