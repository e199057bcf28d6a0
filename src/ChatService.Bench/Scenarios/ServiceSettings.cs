using System.Globalization;

namespace ChatService.Bench.Scenarios;

/// <summary>Service configuration the scenarios start it with (keys as in appsettings, <c>Section:Key</c>).</summary>
internal static class ServiceSettings
{
    /// <summary>The built-in simulated model as the only backend of the default route.</summary>
    public static Dictionary<string, string> SimulatedBackend(TimeSpan timeToFirstToken, double tokensPerSecond, int minTokens, int maxTokens) => new()
    {
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:Model"] = "sim-bench",
        ["Inference:Backends:sim:TimeToFirstToken"] = timeToFirstToken.ToString("c", CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:TokensPerSecond"] = tokensPerSecond.ToString("R", CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:MinTokens"] = minTokens.ToString(CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:MaxTokens"] = maxTokens.ToString(CultureInfo.InvariantCulture),
        ["Inference:Routes:default:0"] = "sim",
    };

    /// <summary>
    /// Fast generation of replies of about 300-800 characters (a simulated token is a word and its
    /// space, about 6 characters), for setting up history.
    /// </summary>
    public static Dictionary<string, string> RealisticTurnsFastBackend() =>
        SimulatedBackend(TimeSpan.Zero, tokensPerSecond: 50_000, minTokens: 50, maxTokens: 130);

    /// <summary>A copy of <paramref name="settings"/> for one replica of several on the same database (its lease identity).</summary>
    public static Dictionary<string, string> WithReplica(Dictionary<string, string> settings, string replicaId) =>
        new(settings) { ["Chat:ReplicaId"] = replicaId };

    public static string Invariant(this int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Invariant(this TimeSpan value) => value.ToString("c", CultureInfo.InvariantCulture);
}
