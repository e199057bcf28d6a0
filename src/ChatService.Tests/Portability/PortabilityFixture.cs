using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Portability;

/// <summary>
/// Imports write at most ten turns a commit, so a chat of a few dozen turns spans several batches; files are
/// at most 256 KiB, so the size bounds are cheap to reach.
/// </summary>
public sealed class PortabilityFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int BatchTurns = 10;

    public const int MaxBytes = 256 * 1024;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Import:BatchTurns"] = BatchTurns.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Import:MaxBytes"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Import:MaxTextChars"] = "1000000",
    };
}
