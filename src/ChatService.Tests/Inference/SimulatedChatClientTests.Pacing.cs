using ChatService.Inference;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

public sealed partial class SimulatedChatClientTests
{
    [Fact]
    public async Task Pacing_NoTokenBeforeTimeToFirstToken_ThenTokensPerSecond()
    {
        var clock = new FakeTimeProvider();
        var options = new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(150), TokensPerSecond = 10 };
        using var client = new SimulatedChatClient(options, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        var first = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(149));
        await Task.Delay(20, Ct);
        Assert.False(first.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal("Captain ", stream.Current.Text);

        // The next token comes 1/TokensPerSecond later.
        var second = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(20, Ct);
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await second.WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal("Ruby ", stream.Current.Text);
    }

    [Fact]
    public async Task SlowFactor_MultipliesTheDelays()
    {
        var clock = new FakeTimeProvider();
        var options = new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(100), SlowFactor = 3 };
        using var client = new SimulatedChatClient(options, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        var first = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(299));
        await Task.Delay(20, Ct);
        Assert.False(first.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }

    [Fact]
    public async Task SlowDirective_PacesTenTimesSlower()
    {
        var clock = new FakeTimeProvider();
        using var client = new SimulatedChatClient(new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(100) }, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("[sim:slow] hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        var first = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(999));
        await Task.Delay(20, Ct);
        Assert.False(first.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }
}
