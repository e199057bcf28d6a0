using ChatService.Api;

namespace ChatService.Tests.Api;

/// <summary>
/// The log scope reads a request's chat and turn through <see cref="IChatScoped"/> and
/// <see cref="ITurnScoped"/>, declared by hand on the generated messages: a request added to the
/// API with a chat_id must not silently lose its scope.
/// </summary>
public sealed class ChatScopedRequestsTests
{
    public static TheoryData<string> Methods => [.. ChatService.Api.V1.ChatService.Descriptor.Methods.Select(m => m.Name)];

    [Theory]
    [MemberData(nameof(Methods))]
    public void EveryRequestNamingAChat_DeclaresItsScope(string method)
    {
        var request = ChatService.Api.V1.ChatService.Descriptor.FindMethodByName(method).InputType;
        var type = request.ClrType;

        Assert.Equal(request.FindFieldByName("chat_id") is not null, typeof(IChatScoped).IsAssignableFrom(type));
        Assert.Equal(request.FindFieldByName("chat_id") is not null && request.FindFieldByName("seq") is not null, typeof(ITurnScoped).IsAssignableFrom(type));
    }
}
