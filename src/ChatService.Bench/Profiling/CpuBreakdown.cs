using System.Globalization;
using System.Text;
using ChatService.Bench.Load;

namespace ChatService.Bench.Profiling;

/// <summary>One component's part of the service's CPU, with the frames that decided most of it.</summary>
internal sealed record ComponentCost(string Component, double Percent, double MicrosPerCall, IReadOnlyList<string> TopFrames);

/// <summary>
/// The service's CPU per call by component for one measured run: the shares a profile gives each
/// component (<see cref="CpuComponents"/>), times the service CPU per call that the bench measured over
/// the window (service cores from <c>/proc</c> / calls per second).
/// </summary>
/// <param name="Profiler">How the shares were measured (<c>perf</c> or <c>dotnet-trace</c>).</param>
/// <param name="Method">One sentence on how samples became shares.</param>
/// <param name="Notes">What the profile says besides the shares (sample counts, checks, pauses).</param>
internal sealed record CpuBreakdown(
    string Run,
    int Callers,
    double Throughput,
    double ServiceCores,
    double MicrosPerCall,
    string Profiler,
    string Method,
    string TracePath,
    IReadOnlyList<ComponentCost> Components,
    IReadOnlyList<string> Notes)
{
    private const int TopFrameCount = 3;

    /// <summary>The breakdown of <paramref name="run"/> from CPU (any unit) charged to (component, frame).</summary>
    public static CpuBreakdown From(
        LoadResult run, string profiler, string method, string tracePath,
        IReadOnlyDictionary<(string Component, string Frame), double> charged, IReadOnlyList<string> notes)
    {
        var byComponent = charged.GroupBy(c => c.Key.Component).ToDictionary(g => g.Key, g => g.Sum(c => c.Value));
        var total = byComponent.Values.Sum();
        var serviceCores = run.Cpu?.Service ?? 0;
        var microsPerCall = run.Throughput > 0 ? serviceCores / run.Throughput * 1e6 : 0;
        var components = CpuComponents.All
            .Where(c => byComponent.GetValueOrDefault(c) > 0)
            .Select(c => new ComponentCost(
                c,
                Math.Round(100 * byComponent[c] / total, 1),
                Math.Round(microsPerCall * byComponent[c] / total, 1),
                [.. charged.Where(f => f.Key.Component == c).OrderByDescending(f => f.Value).Take(TopFrameCount)
                    .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Key.Frame} {100 * f.Value / byComponent[c]:0}%"))]))
            .ToList();
        return new CpuBreakdown(run.Name, run.Callers, run.Throughput, serviceCores, Math.Round(microsPerCall, 1), profiler, method, tracePath, components, notes);
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"#### Service CPU per call by component ({Profiler}): {Run}, {Callers} callers");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"{ServiceCores:0.00} service cores at {Throughput:0.0} calls/s = **{MicrosPerCall:0.0} µs of service CPU per call**. {Method} The first frame from the leaf that a rule matches decides the component (src/ChatService.Bench/Profiling/CpuComponents.cs).");
        md.AppendLine();
        md.AppendLine("| component | % of service CPU | µs per call | largest frames (share of the component) |");
        md.AppendLine("|---|---:|---:|---|");
        foreach (var c in Components)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Component} | {c.Percent:0.0} | {c.MicrosPerCall:0.0} | {string.Join("; ", c.TopFrames.Select(Cell))} |");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"| total | 100.0 | {MicrosPerCall:0.0} | |");
        md.AppendLine();
        foreach (var note in Notes)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"- trace: {TracePath}");
        return md.ToString();
    }

    /// <summary>A table cell: a code span, with the pipes of local-function names escaped.</summary>
    private static string Cell(string frame) => $"`{frame.Replace("|", "\\|", StringComparison.Ordinal)}`";
}
