using ChatService.Inference;

namespace ChatService.Tests.Inference;

public sealed partial class SimulatedChatClientTests
{
    [Theory]
    [InlineData("[sim:fail-before-first-token] hello", false)]
    [InlineData("hello [SIM:Fail-Mid-Stream]", true)]
    public async Task FailureDirective_InLastUserMessage_AppliesToThatRequest(string text, bool tokensBeforeFailure)
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);
        var tokens = new List<string>();

        await Assert.ThrowsAsync<SimulatedBackendException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Prompt(text), cancellationToken: Ct))
            {
                tokens.Add(update.Text);
            }
        });

        Assert.Equal(tokensBeforeFailure, tokens.Count > 0);
        // The next request without the directive is served normally.
        Assert.NotEmpty((await client.GetResponseAsync(Prompt("hello"), cancellationToken: Ct)).Text);
    }

    [Fact]
    public async Task HangDirective_NeverAnswers_UntilCancelled()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(Prompt("[sim:hang] are you there?"), cancellationToken: cts.Token));
    }

    [Fact]
    public async Task Directives_AreNotEchoed()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);

        var reply = (await client.GetResponseAsync(Prompt("[sim:slow] tell me a joke"), cancellationToken: Ct)).Text;

        Assert.DoesNotContain("[sim:", reply);
        Assert.Contains("\"tell me a joke\"", reply);
    }
}
