using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Telemetry;

/// <summary>Logs written while working on a chat carry its id and turn as structured properties.</summary>
public sealed class StructuredLogTests(TelemetryFixture fixture) : ApiTestBase(fixture), IClassFixture<TelemetryFixture>
{
    private readonly TelemetryFixture _fixture = fixture;

    [Fact]
    public async Task ReplyGeneration_LogsCarryChatIdAndTurnSeq()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        // The simulated backend fails part way through: the router logs a warning inside the generation.
        var events = await SendAsync(user, chat.ChatId, "Tell me a story. [sim:fail-mid-stream]");

        Assert.NotNull(events[^1].Failed);
        var warning = await WaitForLogAsync(e => e.EventId.Id == 5002 && Equals(e.Scope.GetValueOrDefault("ChatId"), chat.ChatId));
        Assert.Equal(events[^1].Seq, warning.Scope["TurnSeq"]);
        Assert.Equal(events[^1].CandidateId, warning.Scope["CandidateId"]);
    }

    private async Task<LogCapture.Entry> WaitForLogAsync(Func<LogCapture.Entry, bool> match)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_fixture.Logs.Entries.FirstOrDefault(match) is { } entry)
            {
                return entry;
            }

            Assert.True(DateTime.UtcNow < deadline, "the expected log entry was not written within 10 s");
            await Task.Delay(20, Ct);
        }
    }
}
