using System.Globalization;

namespace ChatService.Bench.Scenarios;

/// <summary>Service configuration the scenarios start it with (keys as in appsettings, <c>Section:Key</c>).</summary>
internal static class ServiceSettings
{
    /// <summary>The built-in simulated model as the only backend (<c>sim</c>) of the default route.</summary>
    public static Dictionary<string, string> SimulatedBackend(TimeSpan timeToFirstToken, double tokensPerSecond, int minTokens, int maxTokens)
    {
        var settings = new Dictionary<string, string>();
        AddSimulatedRoute(settings, "default", "sim", timeToFirstToken, tokensPerSecond, minTokens, maxTokens);
        return settings;
    }

    /// <summary>
    /// Adds a simulated backend named <paramref name="backend"/> as the only backend of route
    /// <paramref name="route"/>: the replies of a character whose model_route names it are paced by it.
    /// </summary>
    public static void AddSimulatedRoute(Dictionary<string, string> settings, string route, string backend,
        TimeSpan timeToFirstToken, double tokensPerSecond, int minTokens, int maxTokens)
    {
        var prefix = $"Inference:Backends:{backend}:";
        settings[prefix + "Kind"] = "Simulated";
        settings[prefix + "Model"] = "sim-bench";
        settings[prefix + "TimeToFirstToken"] = timeToFirstToken.ToString("c", CultureInfo.InvariantCulture);
        settings[prefix + "TokensPerSecond"] = tokensPerSecond.ToString("R", CultureInfo.InvariantCulture);
        settings[prefix + "MinTokens"] = minTokens.ToString(CultureInfo.InvariantCulture);
        settings[prefix + "MaxTokens"] = maxTokens.ToString(CultureInfo.InvariantCulture);
        settings[$"Inference:Routes:{route}:0"] = backend;
    }

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
