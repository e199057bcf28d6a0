using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.AI;
using static ChatService.Tests.Inference.RouterTesting;

namespace ChatService.Tests.Inference;

public sealed class ModelRouterFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FailureBeforeFirstToken_RetriesSameBackend_ThenFallsBackToNext()
    {
        var clock = Clock();
        var broken = new FakeChatClient(ct => FakeStreams.FailBeforeFirstToken(ct));
        var healthy = new FakeChatClient(ct => FakeStreams.Text(["Hi ", "there!"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("a", broken, Backend()), ("b", healthy, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Equal(2, broken.Calls.Count);
        Assert.Single(healthy.Calls);
        var calls = Calls(events);
        Assert.Equal(["a", "a", "b"], calls.Select(c => c.Backend));
        Assert.Equal([1, 2, 3], calls.Select(c => c.Attempt));
        Assert.Equal(["error", "error", "ok"], calls.Select(c => c.Outcome));
        Assert.All(calls.Take(2), c => Assert.Contains("Connection refused", c.Error));
        Assert.All(calls.Take(2), c => Assert.Null(c.FirstTokenAt));
        Assert.Equal("Hi there!", Text(events));
        Assert.Equal(new GenerationFinished(true, null, null), Finished(events));
        // The retry waited RetryDelay (±20% jitter) on the clock.
        var retryGap = events.OfType<AttemptStarted>().ElementAt(1).StartedAt - calls[0].FinishedAt;
        Assert.InRange(retryGap, TimeSpan.FromMilliseconds(80), TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 3)]
    public async Task RetriesBeforeFirstToken_IsHonoured(int retries, int expectedCallsOnFirstBackend)
    {
        var clock = Clock();
        var broken = new FakeChatClient(ct => FakeStreams.FailBeforeFirstToken(ct));
        var healthy = new FakeChatClient(ct => FakeStreams.Text(["ok"], cancellationToken: ct));
        using var router = Router(clock, retries, ("a", broken, Backend()), ("b", healthy, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Equal(expectedCallsOnFirstBackend, broken.Calls.Count);
        Assert.Equal(expectedCallsOnFirstBackend + 1, Calls(events).Count);
        Assert.True(Finished(events).Succeeded);
    }

    [Fact]
    public async Task FirstTokenTimeout_HangingBackendFallsBack()
    {
        var clock = Clock();
        var hanging = new FakeChatClient(ct => FakeStreams.HangAfter([], clock, ct));
        var healthy = new FakeChatClient(ct => FakeStreams.Text(["Here ", "I am."], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("slow", hanging, Backend()), ("fast", healthy, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        var calls = Calls(events);
        Assert.Equal(["first_token_timeout", "first_token_timeout", "ok"], calls.Select(c => c.Outcome));
        Assert.All(calls.Take(2), c => Assert.InRange(c.FinishedAt - c.StartedAt, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.5)));
        Assert.Equal(2, hanging.CancelledCalls);
        Assert.Equal("Here I am.", Text(events));
        Assert.True(Finished(events).Succeeded);
    }

    [Fact]
    public async Task AllBackendsDown_BackendUnavailable_WithOneModelCallPerAttempt()
    {
        var clock = Clock();
        var a = new FakeChatClient(ct => FakeStreams.FailBeforeFirstToken(ct));
        var b = new FakeChatClient(ct => FakeStreams.HangAfter([], clock, ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("a", a, Backend()), ("b", b, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Empty(events.OfType<TextDelta>());
        var calls = Calls(events);
        Assert.Equal(4, events.OfType<AttemptStarted>().Count());
        Assert.Equal([("a", "error"), ("a", "error"), ("b", "first_token_timeout"), ("b", "first_token_timeout")], calls.Select(c => (c.Backend, c.Outcome)));
        Assert.All(calls, c => Assert.Equal("model-x", c.Model));
        var finished = Finished(events);
        Assert.False(finished.Succeeded);
        Assert.Equal(ReplyFailureCode.BackendUnavailable, finished.FailureCode);
        Assert.Contains("'b'", finished.FailureReason);
        Assert.Contains("first_token_timeout", finished.FailureReason);
    }

    [Fact]
    public async Task ConcurrencyLimitFull_AttemptRejected_NextBackendUsed()
    {
        var clock = Clock();
        var release = new TaskCompletionSource();
        var limited = new FakeChatClient(ct => FakeStreams.After(release.Task, ["first"], ct));
        var spare = new FakeChatClient(ct => FakeStreams.Text(["second"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("limited", limited, Backend(maxConcurrency: 1)), ("spare", spare, Backend()));

        // The first generation holds the only slot of "limited" until released.
        var holding = ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), TimeSpan.Zero);
        await limited.WaitForCallAsync(Ct);
        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);
        release.SetResult();
        var first = await holding;

        AssertWellFormed(events);
        var calls = Calls(events);
        Assert.Equal([("limited", "rejected"), ("spare", "ok")], calls.Select(c => (c.Backend, c.Outcome)));
        Assert.Contains("slots", calls[0].Error);
        // The queue timeout (100 ms) elapsed on the clock; the pump may move it a step or two further.
        Assert.InRange(calls[0].FinishedAt - calls[0].StartedAt, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(250));
        Assert.Equal("second", Text(events));
        Assert.Single(limited.Calls);
        Assert.Equal("first", Text(first));
    }

    [Fact]
    public async Task EmptyReply_CountsAsFailure_AndFallsBack()
    {
        var clock = Clock();
        var silent = new FakeChatClient(ct => FakeStreams.Text([], new UsageDetails { OutputTokenCount = 0 }, ct));
        var healthy = new FakeChatClient(ct => FakeStreams.Text(["words"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 0, ("silent", silent, Backend()), ("healthy", healthy, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        var calls = Calls(events);
        Assert.Equal(("silent", "error"), (calls[0].Backend, calls[0].Outcome));
        Assert.Contains("without any text", calls[0].Error);
        Assert.Equal("words", Text(events));
    }

    [Fact]
    public async Task BackendThatThrowsWhenCalled_IsAnErrorAttempt_NotAnException()
    {
        var clock = Clock();
        var throwing = new FakeChatClient(_ => throw new InvalidOperationException("boom"));
        using var router = Router(clock, retriesBeforeFirstToken: 0, ("throwing", throwing, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Equal("error", Assert.Single(Calls(events)).Outcome);
        Assert.Equal(ReplyFailureCode.BackendUnavailable, Finished(events).FailureCode);
    }
}
