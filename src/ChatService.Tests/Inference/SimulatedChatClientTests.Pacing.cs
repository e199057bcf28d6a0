using ChatService.Inference;
using Microsoft.Extensions.AI;
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

        await AssertNextTokenExactlyAfterAsync(clock, stream, TimeSpan.FromMilliseconds(150));
        Assert.Equal("Captain ", stream.Current.Text);

        // The next token comes 1/TokensPerSecond later.
        await AssertNextTokenExactlyAfterAsync(clock, stream, TimeSpan.FromMilliseconds(100));
        Assert.Equal("Ruby ", stream.Current.Text);
    }

    [Fact]
    public async Task SlowFactor_MultipliesTheDelays()
    {
        var clock = new FakeTimeProvider();
        var options = new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(100), SlowFactor = 3 };
        using var client = new SimulatedChatClient(options, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        await AssertNextTokenExactlyAfterAsync(clock, stream, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task SlowDirective_PacesTenTimesSlower()
    {
        var clock = new FakeTimeProvider();
        using var client = new SimulatedChatClient(new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(100) }, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("[sim:slow] hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        await AssertNextTokenExactlyAfterAsync(clock, stream, TimeSpan.FromMilliseconds(1000));
    }

    [Fact]
    public async Task AFractionOfAMillisecond_IsWaitedInFull_SoTheFirstTokenIsNeverEarly()
    {
        var clock = new FakeTimeProvider();
        using var client = new SimulatedChatClient(new BackendOptions { TimeToFirstToken = TimeSpan.FromMilliseconds(10.4) }, clock);
        await using var stream = client.GetStreamingResponseAsync(Prompt("Hi"), cancellationToken: Ct).GetAsyncEnumerator(Ct);

        // Rounded up to 11 ms, as the system clock's timers would otherwise drop the fraction (10 ms).
        var next = stream.MoveNextAsync().AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(10.5));
        await Task.Delay(20, Ct);
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(0.5));
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }

    /// <summary>
    /// Moves the clock to 1 ms short of <paramref name="delay"/>: no token yet (given a moment to show up
    /// if it were early); then the last millisecond: the token arrives.
    /// </summary>
    private static async Task AssertNextTokenExactlyAfterAsync(FakeTimeProvider clock, IAsyncEnumerator<ChatResponseUpdate> stream, TimeSpan delay)
    {
        var next = stream.MoveNextAsync().AsTask();
        clock.Advance(delay - TimeSpan.FromMilliseconds(1));
        await Task.Delay(20, Ct);
        Assert.False(next.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }
}
