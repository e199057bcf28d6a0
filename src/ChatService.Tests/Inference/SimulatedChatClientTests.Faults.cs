using ChatService.Inference;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

public sealed partial class SimulatedChatClientTests
{
    [Fact]
    public async Task FailBeforeFirstTokenRate_One_FailsWithoutAnyToken()
    {
        var options = Instant();
        options.FailBeforeFirstTokenRate = 1;
        using var client = new SimulatedChatClient(options, TimeProvider.System);
        var tokens = new List<string>();

        await Assert.ThrowsAsync<SimulatedBackendException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct))
            {
                tokens.Add(update.Text);
            }
        });

        Assert.Empty(tokens);
    }

    [Fact]
    public async Task FailMidStreamRate_One_FailsAfterSomeTokens()
    {
        var options = Instant();
        options.FailMidStreamRate = 1;
        using var client = new SimulatedChatClient(options, TimeProvider.System);
        var tokens = new List<string>();

        await Assert.ThrowsAsync<SimulatedBackendException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct))
            {
                tokens.Add(update.Text);
            }
        });

        Assert.NotEmpty(tokens);
        Assert.DoesNotContain(tokens, t => t.Length == 0);
    }

    [Fact]
    public async Task HangRate_One_NeverProducesATokenAndHonoursCancellation()
    {
        var clock = new FakeTimeProvider();
        var options = new BackendOptions { HangRate = 1 };
        using var client = new SimulatedChatClient(options, clock);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var stream = client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token);

        var first = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromHours(1));
        await Task.Delay(20, Ct);
        Assert.False(first.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }

    [Fact]
    public async Task FaultRates_DrawnFromTheSeed_AreReproducible()
    {
        static async Task<string> PatternAsync(int seed)
        {
            var options = Instant(seed);
            options.FailBeforeFirstTokenRate = 0.5;
            using var client = new SimulatedChatClient(options, TimeProvider.System);
            var pattern = "";
            for (var i = 0; i < 24; i++)
            {
                try
                {
                    await client.GetResponseAsync(Prompt("same message"), cancellationToken: TestContext.Current.CancellationToken);
                    pattern += "o";
                }
                catch (SimulatedBackendException)
                {
                    pattern += "x";
                }
            }

            return pattern;
        }

        var first = await PatternAsync(seed: 5);
        var again = await PatternAsync(seed: 5);

        Assert.Equal(first, again);
        // A retry of the same request gets a fresh draw: both outcomes occur.
        Assert.Contains('o', first);
        Assert.Contains('x', first);
    }
}
