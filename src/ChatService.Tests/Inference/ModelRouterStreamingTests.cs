using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.AI;
using static ChatService.Tests.Inference.RouterTesting;

namespace ChatService.Tests.Inference;

public sealed class ModelRouterStreamingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Success_StreamsDeltas_AndLogsOneOkCall_WithReportedUsage()
    {
        var clock = Clock();
        var client = new FakeChatClient(ct => FakeStreams.Text(["Once ", "upon ", "a time."], new UsageDetails { InputTokenCount = 321, OutputTokenCount = 7 }, ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("main", client, Backend()));
        var request = Request("Tell me a story");

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(request, Ct), Step);

        AssertWellFormed(events);
        Assert.Equal(["Once ", "upon ", "a time."], events.OfType<TextDelta>().Select(d => d.Text));
        var call = Assert.Single(Calls(events));
        Assert.Equal(("main", "model-x", "ok", (string?)null), (call.Backend, call.Model, call.Outcome, call.Error));
        Assert.Equal((321, 7), (call.PromptTokens, call.CompletionTokens));
        Assert.NotNull(call.FirstTokenAt);
        Assert.True(Finished(events).Succeeded);
        var (messages, options) = Assert.Single(client.Calls);
        Assert.Equal(request.Messages, messages);
        Assert.Equal(64, options?.MaxOutputTokens);
    }

    [Fact]
    public async Task WithoutReportedUsage_TokensAreEstimated()
    {
        var clock = Clock();
        var client = new FakeChatClient(ct => FakeStreams.Text(["12345678", "1234"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 0, ("main", client, Backend()));
        var request = new GenerationRequest(Route, [new ChatMessage(ChatRole.System, "0123456789"), new ChatMessage(ChatRole.User, "0123456789")]);

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(request, Ct), Step);

        var call = Assert.Single(Calls(events));
        Assert.Equal((5, 3), (call.PromptTokens, call.CompletionTokens));
    }

    [Fact]
    public async Task FailureMidStream_Interrupted_KeepsDeltasAlreadyYielded_AndDoesNotFallBack()
    {
        var clock = Clock();
        var dying = new FakeChatClient(ct => FakeStreams.FailAfter(["Hel", "lo"], ct));
        var spare = new FakeChatClient(ct => FakeStreams.Text(["other reply"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("dying", dying, Backend()), ("spare", spare, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Equal("Hello", Text(events));
        var call = Assert.Single(Calls(events));
        Assert.Equal("error", call.Outcome);
        Assert.NotNull(call.FirstTokenAt);
        Assert.Contains("connection was reset", call.Error);
        Assert.Empty(spare.Calls);
        var finished = Finished(events);
        Assert.Equal((false, ReplyFailureCode.Interrupted), (finished.Succeeded, finished.FailureCode));
        Assert.Contains("dying", finished.FailureReason);
    }

    [Fact]
    public async Task TotalTimeoutAfterFirstToken_Interrupted_WithTimeoutOutcome()
    {
        var clock = Clock();
        var stalls = new FakeChatClient(ct => FakeStreams.HangAfter(["partial"], clock, ct));
        var options = Backend();
        options.TotalTimeout = TimeSpan.FromSeconds(5);
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("stalls", stalls, options));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), Ct), Step);

        AssertWellFormed(events);
        Assert.Equal("partial", Text(events));
        var call = Assert.Single(Calls(events));
        Assert.Equal("timeout", call.Outcome);
        // The first-token timeout (2 s) no longer applies once text arrived; the total one (5 s) does.
        Assert.InRange(call.FinishedAt - call.StartedAt, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5));
        Assert.Equal(ReplyFailureCode.Interrupted, Finished(events).FailureCode);
    }

    [Fact]
    public async Task CallerCancelsMidStream_Cancelled_WithoutException_PartialTextKept()
    {
        var clock = Clock();
        var client = new FakeChatClient(ct => FakeStreams.HangAfter(["Some ", "words"], clock, ct));
        var spare = new FakeChatClient(ct => FakeStreams.Text(["never"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("main", client, Backend()), ("spare", spare, Backend()));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var events = new List<GenerationEvent>();
        await foreach (var e in router.GenerateAsync(Request(), cts.Token))
        {
            events.Add(e);
            if (e is TextDelta { Text: "words" })
            {
                await cts.CancelAsync();
            }
        }

        AssertWellFormed(events);
        Assert.Equal("Some words", Text(events));
        var call = Assert.Single(Calls(events));
        Assert.Equal("cancelled", call.Outcome);
        Assert.Equal(1, client.CancelledCalls);
        Assert.Empty(spare.Calls);
        Assert.Equal(ReplyFailureCode.Cancelled, Finished(events).FailureCode);
    }

    [Fact]
    public async Task CallerCancelsBeforeFirstToken_Cancelled_NoFurtherAttempts()
    {
        var clock = Clock();
        var hanging = new FakeChatClient(ct => FakeStreams.HangAfter([], clock, ct));
        var spare = new FakeChatClient(ct => FakeStreams.Text(["never"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 1, ("main", hanging, Backend()), ("spare", spare, Backend()));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var reading = ClockPump.CollectAsync(clock, router.GenerateAsync(Request(), cts.Token), TimeSpan.Zero);
        await hanging.WaitForCallAsync(Ct);
        await cts.CancelAsync();
        var events = await reading;

        AssertWellFormed(events);
        Assert.Equal("cancelled", Assert.Single(Calls(events)).Outcome);
        Assert.Empty(spare.Calls);
        Assert.Equal(ReplyFailureCode.Cancelled, Finished(events).FailureCode);
    }

    [Fact]
    public async Task ConsumerStopsReading_SlotIsFreed()
    {
        var clock = Clock();
        var client = new FakeChatClient(ct => FakeStreams.HangAfter(["a"], clock, ct));
        using var router = Router(clock, retriesBeforeFirstToken: 0, ("main", client, Backend(maxConcurrency: 1)));

        await foreach (var e in router.GenerateAsync(Request(), Ct))
        {
            if (e is TextDelta)
            {
                break;
            }
        }

        // The abandoned stream was cancelled and its slot released, so a new call is admitted.
        Assert.Equal(1, client.CancelledCalls);
        var second = new List<GenerationEvent>();
        await foreach (var e in router.GenerateAsync(Request(), Ct))
        {
            second.Add(e);
            if (e is TextDelta)
            {
                break;
            }
        }

        Assert.IsType<TextDelta>(second[^1]);
    }

    [Fact]
    public async Task UnknownRoute_FinishesWithUnknownRoute_AndNoAttempts()
    {
        var clock = Clock();
        var client = new FakeChatClient(ct => FakeStreams.Text(["x"], cancellationToken: ct));
        using var router = Router(clock, retriesBeforeFirstToken: 0, ("main", client, Backend()));

        var events = await ClockPump.CollectAsync(clock, router.GenerateAsync(Request(route: "nope"), Ct), Step);

        var finished = Assert.IsType<GenerationFinished>(Assert.Single(events));
        Assert.Equal(ReplyFailureCode.UnknownRoute, finished.FailureCode);
        Assert.Contains("nope", finished.FailureReason);
        Assert.Empty(client.Calls);
        Assert.False(router.HasRoute("nope"));
        Assert.True(router.HasRoute(Route));
        Assert.True(router.HasRoute(Route.ToUpperInvariant()));
    }
}
