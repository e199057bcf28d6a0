using ChatService.Inference;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

/// <summary>Builds routers over fake clients and reads what they yield.</summary>
internal static class RouterTesting
{
    public const string Route = "chat";

    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public static BackendOptions Backend(int maxConcurrency = 8) => new()
    {
        Kind = BackendKind.Simulated,
        Model = "model-x",
        MaxConcurrency = maxConcurrency,
        QueueTimeout = TimeSpan.FromMilliseconds(100),
        FirstTokenTimeout = TimeSpan.FromSeconds(2),
        TotalTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>A router whose route <see cref="Route"/> tries the backends in the order given.</summary>
    public static ModelRouter Router(
        TimeProvider clock, int retriesBeforeFirstToken, params (string Name, IChatClient Client, BackendOptions Options)[] backends)
    {
        var options = new InferenceOptions
        {
            RetriesBeforeFirstToken = retriesBeforeFirstToken,
            RetryDelay = TimeSpan.FromMilliseconds(100),
        };
        foreach (var (name, _, backendOptions) in backends)
        {
            options.Backends[name] = backendOptions;
        }

        options.Routes[Route] = [.. backends.Select(b => b.Name)];
        var clients = backends.ToDictionary(b => b.Name, b => b.Client);
        return new ModelRouter(options, (name, _) => clients[name], clock, NullLogger<ModelRouter>.Instance);
    }

    public static GenerationRequest Request(string text = "Hello there", string route = Route) =>
        new(route, [new ChatMessage(ChatRole.System, "You are Aria."), new ChatMessage(ChatRole.User, text)], MaxOutputTokens: 64);

    public static List<ModelCall> Calls(IEnumerable<GenerationEvent> events) =>
        [.. events.OfType<AttemptFinished>().Select(e => e.Call)];

    public static string Text(IEnumerable<GenerationEvent> events) =>
        string.Concat(events.OfType<TextDelta>().Select(d => d.Text));

    public static GenerationFinished Finished(IReadOnlyList<GenerationEvent> events)
    {
        Assert.Single(events.OfType<GenerationFinished>());
        return Assert.IsType<GenerationFinished>(events[^1]);
    }

    /// <summary>Checks the event order the router promises: per attempt Started, deltas, Finished; then one GenerationFinished.</summary>
    public static void AssertWellFormed(IReadOnlyList<GenerationEvent> events)
    {
        var open = (AttemptStarted?)null;
        var expectedAttempt = 1;
        for (var i = 0; i < events.Count; i++)
        {
            switch (events[i])
            {
                case AttemptStarted started:
                    Assert.Null(open);
                    Assert.Equal(expectedAttempt++, started.Attempt);
                    open = started;
                    break;
                case TextDelta:
                    Assert.NotNull(open);
                    break;
                case AttemptFinished finished:
                    Assert.NotNull(open);
                    Assert.Equal(open.Attempt, finished.Call.Attempt);
                    Assert.Equal(open.Backend, finished.Call.Backend);
                    Assert.Equal(open.StartedAt, finished.Call.StartedAt);
                    open = null;
                    break;
                case GenerationFinished:
                    Assert.Null(open);
                    Assert.Equal(events.Count - 1, i);
                    break;
            }
        }
    }
}
