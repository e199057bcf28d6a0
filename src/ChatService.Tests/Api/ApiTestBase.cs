using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Google.Rpc;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>Shared helpers for tests that call the service over gRPC.</summary>
public abstract class ApiTestBase(ChatServiceFixture fixture)
{
    protected ChatServiceFixture Fixture { get; } = fixture;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected async Task<Character> CreateCharacterAsync(string userId, string name = "Ada", string greeting = "Hello there!",
        Visibility visibility = Visibility.Private) =>
        await Fixture.Client(userId).CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = name,
            Persona = $"{name} is a patient mathematician who explains with small examples.",
            Greeting = greeting,
            Visibility = visibility,
        }, cancellationToken: Ct);

    protected async Task<Chat> CreateChatAsync(string userId, params Character[] characters) =>
        await Fixture.Client(userId).CreateChatAsync(new CreateChatRequest { CharacterIds = { characters.Select(c => c.CharacterId) } },
            cancellationToken: Ct);

    /// <summary>Sends a message and reads the whole event stream.</summary>
    protected async Task<List<ReplyEvent>> SendAsync(string userId, string chatId, string text, string requestId = "", params string[] replyCharacterIds)
    {
        var call = Fixture.Client(userId).SendMessage(new SendMessageRequest
        {
            ChatId = chatId,
            Text = text,
            RequestId = requestId,
            ReplyCharacterIds = { replyCharacterIds },
        }, cancellationToken: Ct);
        return await ReadAllAsync(call);
    }

    /// <summary>Reads a reply stream (a send, regeneration or continuation) to its end, and disposes the call.</summary>
    protected static async Task<List<ReplyEvent>> ReadAllAsync(AsyncServerStreamingCall<ReplyEvent> call)
    {
        using (call)
        {
            return await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        }
    }

    protected static async Task<RpcException> AssertStatusAsync(StatusCode expected, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == ex.StatusCode, $"expected {expected}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }

    /// <summary>The one field an INVALID_ARGUMENT's google.rpc.BadRequest names.</summary>
    protected static string FieldOf(RpcException ex)
    {
        var details = ex.Trailers.GetValueBytes("grpc-status-details-bin");
        Assert.NotNull(details);
        return Assert.Single(Assert.Single(Google.Rpc.Status.Parser.ParseFrom(details).Details).Unpack<BadRequest>().FieldViolations).Field;
    }
}
