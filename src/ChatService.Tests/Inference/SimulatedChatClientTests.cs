using ChatService.Inference;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

public sealed partial class SimulatedChatClientTests
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
    public async Task DifferentVariant_DifferentReply_SameVariant_SameReply()
    {
        using var client = new SimulatedChatClient(Instant(), TimeProvider.System);
        static ChatOptions Variant(string name) => new() { AdditionalProperties = new() { [SimulatedChatClient.VariantProperty] = name } };

        var first = await client.GetResponseAsync(Prompt("What is behind the door?"), Variant("candidate-a"), Ct);
        var again = await client.GetResponseAsync(Prompt("What is behind the door?"), Variant("candidate-a"), Ct);
        var swipe = await client.GetResponseAsync(Prompt("What is behind the door?"), Variant("candidate-b"), Ct);

        Assert.Equal(first.Text, again.Text);
        Assert.NotEqual(first.Text, swipe.Text);
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
}
