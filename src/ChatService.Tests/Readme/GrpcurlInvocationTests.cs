namespace ChatService.Tests.Readme;

public sealed class GrpcurlInvocationTests
{
    [Fact]
    public void MethodCall_ReadsFlagsAddressAndMethod()
    {
        var call = GrpcurlInvocation.Parse(
            ["-plaintext", "-H", "X-User-Id:  alice ", "-d", "{\"a\":1}", "localhost:50051", "chat.v1.ChatService/GetChat"]);

        Assert.True(call.Plaintext);
        Assert.Equal([new("x-user-id", "alice")], call.Headers);
        Assert.Equal(("localhost:50051", "chat.v1.ChatService/GetChat", "{\"a\":1}"), (call.Address, call.Method, call.RequestJson));
        Assert.False(call.IsList);
    }

    [Fact]
    public void WithoutData_TheRequestIsEmpty()
    {
        var call = GrpcurlInvocation.Parse(["localhost:50051", "grpc.health.v1.Health/Check"]);

        Assert.False(call.Plaintext);
        Assert.Equal("{}", call.RequestJson);
    }

    [Fact]
    public void List_IsTheListVerb()
    {
        Assert.True(GrpcurlInvocation.Parse(["-plaintext", "localhost:50051", "list"]).IsList);
    }

    [Theory]
    [InlineData("-insecure", "localhost:1", "list")]
    [InlineData("-d", "@", "localhost:1", "a.B/C")]
    [InlineData("localhost:1", "list", "chat.v1.ChatService")]
    [InlineData("localhost:1", "describe")]
    [InlineData("localhost:1", "ChatService/GetChat")]
    [InlineData("localhost:1", "chat.v1.ChatService.GetChat")]
    public void Unsupported_IsRefused(params string[] arguments)
    {
        Assert.Throws<NotSupportedException>(() => GrpcurlInvocation.Parse(arguments));
    }

    [Theory]
    [InlineData("-d")]
    [InlineData("-H", "no colon", "localhost:1", "list")]
    [InlineData("localhost:1")]
    [InlineData("localhost:1", "a.B/C", "-d", "{}")]
    public void Malformed_IsRefused(params string[] arguments)
    {
        Assert.Throws<FormatException>(() => GrpcurlInvocation.Parse(arguments));
    }
}
