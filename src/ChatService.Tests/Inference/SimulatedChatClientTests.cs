using ChatService.Inference;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

public sealed class SimulatedChatClientTests
{
    private const string Persona = "You are Captain Ruby, a cheerful pirate who loves riddles.";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>No pacing, so tests that are not about time run instantly on the real clock.</summary>
    private static BackendOptions Instant(int seed = 1) => new()
    {
        Seed = seed,
        TimeToFirstToken = TimeSpan.Zero,
        TokensPerSecond = 1_000_000_000,
    };

    private static List<ChatMessage> Prompt(string userText, string persona = Persona) =>
        [new(ChatRole.System, persona), new(ChatRole.User, userText)];

    private static async Task<(List<string> Tokens, UsageDetails? Usage)> ReadAsync(
        IChatClient client, IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var tokens = new List<string>();
        UsageDetails? usage = null;
        await foreach (var update in client.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            if (update.Text.Length > 0)
            {
                tokens.Add(update.Text);
            }

            usage = update.Contents.OfType<UsageContent>().SingleOrDefault()?.Details ?? usage;
        }

        return (tokens, usage);
    }

    [Fact]
    public async Task SameSeedAndMessages_SameReply()
    {
        using var first = new SimulatedChatClient(Instant(seed: 7), TimeProvider.System);
        using var second = new SimulatedChatClient(Instant(seed: 7), TimeProvider.System);

        var a = await first.GetResponseAsync(Prompt("What is behind the door?"), cancellationToken: Ct);
        var b = await second.GetResponseAsync(Prompt("What is behind the door?"), cancellationToken: Ct);

        Assert.Equal(a.Text, b.Text);
        Assert.NotEmpty(a.Text);
    }

    [Fact]
    public async Task DifferentSeed_DifferentReply()
    {
        using var first = new SimulatedChatClient(Instant(seed: 1), TimeProvider.System);
        using var second = new SimulatedChatClient(Instant(seed: 2), TimeProvider.System);

        var a = await first.GetResponseAsync(Prompt("What is behind the door?"), cancellationToken: Ct);
        var b = await second.GetResponseAsync(Prompt("What is behind the door?"), cancellationToken: Ct);

        Assert.NotEqual(a.Text, b.Text);
    }

    [Fact]
    public async Task DifferentMessages_DifferentReply()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);

        var a = await client.GetResponseAsync(Prompt("Tell me about the sea"), cancellationToken: Ct);
        var b = await client.GetResponseAsync(Prompt("Tell me about the moon"), cancellationToken: Ct);

        Assert.NotEqual(a.Text, b.Text);
    }

    [Fact]
    public async Task Reply_NamesThePersona_AndEchoesTheLastUserMessage()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);
        List<ChatMessage> messages =
        [
            new(ChatRole.System, Persona),
            new(ChatRole.User, "An older question about lighthouses"),
            new(ChatRole.Assistant, "An older answer."),
            new(ChatRole.User, "Where is the buried pineapple?"),
        ];

        var reply = (await client.GetResponseAsync(messages, cancellationToken: Ct)).Text;

        Assert.StartsWith("Captain Ruby here.", reply);
        Assert.Contains("\"Where is the buried pineapple?\"", reply);
        Assert.DoesNotContain("lighthouses", reply);
    }

    [Fact]
    public async Task PersonaWithoutAName_ReplyEchoesItsFirstWords()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);

        var reply = (await client.GetResponseAsync(Prompt("hello", persona: "grumpy old wizard who hates mornings"), cancellationToken: Ct)).Text;

        Assert.StartsWith("grumpy old wizard here.", reply);
    }

    [Fact]
    public async Task ReplyLength_WithinMinAndMaxTokens_AndUsageReported()
    {
        var options = Instant();
        options.MinTokens = 20;
        options.MaxTokens = 30;
        using var client = new SimulatedChatClient(options, TimeProvider.System);
        var messages = Prompt("Count with me");

        for (var i = 0; i < 10; i++)
        {
            var (tokens, usage) = await ReadAsync(client, [.. messages, new(ChatRole.User, $"again {i}")], cancellationToken: Ct);

            Assert.InRange(tokens.Count, 20, 30);
            Assert.All(tokens[..^1], t => Assert.EndsWith(" ", t));
            Assert.NotNull(usage);
            Assert.Equal(tokens.Count, usage.OutputTokenCount);
            var promptChars = Persona.Length + "Count with me".Length + $"again {i}".Length;
            Assert.Equal((promptChars + 3) / 4, usage.InputTokenCount);
        }
    }

    [Fact]
    public async Task MaxOutputTokens_CapsTheReply()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);

        var (tokens, _) = await ReadAsync(client, Prompt("Say a lot"), new ChatOptions { MaxOutputTokens = 3 }, Ct);

        Assert.Equal(3, tokens.Count);
    }

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

    [Fact]
    public async Task Directives_AreNotEchoed()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);

        var reply = (await client.GetResponseAsync(Prompt("[sim:slow] tell me a joke"), cancellationToken: Ct)).Text;

        Assert.DoesNotContain("[sim:", reply);
        Assert.Contains("\"tell me a joke\"", reply);
    }
}
