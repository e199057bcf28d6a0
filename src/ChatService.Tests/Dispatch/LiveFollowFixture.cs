using System.Globalization;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The replica pair of <see cref="LiveFollowTests"/> that stays up for the class: A generates, B
/// follows. B is quiet (no recovery sweeps, no periodic health checks), so whatever it asks of
/// Spanner while a test has it follow a reply is for that reply.
/// </summary>
public sealed class LiveFollowFixture(LocalStack stack) : IAsyncLifetime
{
    /// <summary>The route of a backend whose replies last a minute, for replies that are cancelled anyway.</summary>
    public const string LongRoute = "long";

    /// <summary>
    /// The default route's first token comes late enough that a follower opened right after
    /// Accepted is following before the first delta, even on a busy machine.
    /// </summary>
    public static readonly TimeSpan TimeToFirstToken = TimeSpan.FromMilliseconds(500);

    public const int TokensPerSecond = 20;

    public const int Tokens = 40;

    /// <summary>What one reply on the default route takes to generate: about 2.5 s.</summary>
    public static readonly TimeSpan Generation = TimeToFirstToken + TimeSpan.FromSeconds((double)Tokens / TokensPerSecond);

    private ReplicaPair? _pair;

    public ReplicaPair Pair => _pair ?? throw new InvalidOperationException("The replica pair has not started.");

    private static Dictionary<string, string> Backends => new(ChatServiceFixture.PacedSimulatedBackend(TimeToFirstToken, TokensPerSecond, Tokens))
    {
        // 600 tokens at 10/s: a minute.
        ["Inference:Backends:long:Kind"] = "Simulated",
        ["Inference:Backends:long:Model"] = "sim-long",
        ["Inference:Backends:long:TimeToFirstToken"] = "00:00:00.100",
        ["Inference:Backends:long:TokensPerSecond"] = "10",
        ["Inference:Backends:long:MinTokens"] = "600",
        ["Inference:Backends:long:MaxTokens"] = "600",
        ["Inference:Routes:long:0"] = "long",
    };

    public async ValueTask InitializeAsync()
    {
        var quiet = new Dictionary<string, string>(Backends)
        {
            ["Dispatch:SweepInterval"] = "01:00:00",
            ["Health:Period"] = "01:00:00",
            ["Summary:SweepInterval"] = "01:00:00",
            ["DataDeletion:SweepInterval"] = "01:00:00",
            ["Chat:CatalogBackfillInterval"] = "01:00:00",
        };
        _pair = await ReplicaPair.StartAsync(stack, "lf", Backends, quiet, TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_pair is not null)
        {
            await _pair.DisposeAsync();
        }
    }
}
