using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Portability;

/// <summary>Imports write at most ten turns a commit, so a chat of a few dozen turns spans several batches.</summary>
public sealed class PortabilityFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int BatchTurns = 10;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Import:BatchTurns"] = BatchTurns.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
