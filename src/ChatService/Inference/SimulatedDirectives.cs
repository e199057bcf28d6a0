using System.Text.RegularExpressions;

namespace ChatService.Inference;

/// <summary>Reads and strips <c>[sim:...]</c> directives.</summary>
internal static partial class SimulatedDirectives
{
    /// <summary>The faults the text asks for; unknown directives are ignored.</summary>
    public static SimulatedFaults Parse(string? text)
    {
        var faults = SimulatedFaults.None;
        if (string.IsNullOrEmpty(text))
        {
            return faults;
        }

        foreach (Match match in Directive().Matches(text))
        {
            faults |= match.Groups["name"].Value.ToLowerInvariant() switch
            {
                "fail-before-first-token" => SimulatedFaults.FailBeforeFirstToken,
                "fail-mid-stream" => SimulatedFaults.FailMidStream,
                "hang" => SimulatedFaults.Hang,
                "slow" => SimulatedFaults.Slow,
                _ => SimulatedFaults.None,
            };
        }

        return faults;
    }

    /// <summary>The text without its directives.</summary>
    public static string Strip(string text) => Directive().Replace(text, " ");

    [GeneratedRegex(@"\[sim:(?<name>[a-z\-]+)\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Directive();
}
