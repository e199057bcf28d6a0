using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Shaping;

/// <summary>Tests of the chat-shaping operations on the OpenAI-compatible fake server (which records every prompt).</summary>
public abstract class ShapingTestBase(OpenAIBackedFixture fixture) : ApiTestBase(fixture)
{
    /// <summary>The fixture, with the fake server whose recorded prompts the tests read.</summary>
    protected OpenAIBackedFixture OpenAI { get; } = fixture;

    /// <summary>
    /// A new user's chat with Ada (greeting at turn 1) and <paramref name="exchanges"/> completed exchanges
    /// after it: "message i" at turn 2 + 2i, its reply at 3 + 2i.
    /// </summary>
    protected async Task<(string User, Chat Chat)> ChatWithExchangesAsync(int exchanges)
    {
        var user = TestUsers.New();
        var character = await Fixture.Client(user).CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ada", Persona = "Ada explains.", Greeting = "Hello there!", ModelRoute = "llm" }, cancellationToken: Ct);
        var chat = await CreateChatAsync(user, character);
        for (var i = 0; i < exchanges; i++)
        {
            var events = await SendAsync(user, chat.ChatId, $"message {i}");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        }

        return (user, chat);
    }
}
