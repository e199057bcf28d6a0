using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ChatService.Bench.Load;
using ChatService.Bench.Profiling;

namespace ChatService.Bench.Reporting;

/// <summary>
/// Everything one scenario measured: load runs, single figures, target checks and notes. Printed
/// as markdown and written as JSON (and the same markdown) to the output directory.
/// </summary>
internal sealed class BenchReport(string scenario, BenchOptions options, MachineInfo machine)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    public string Scenario { get; } = scenario;

    public MachineInfo Machine { get; } = machine;

    public List<LoadResult> Runs { get; } = [];

    /// <summary>Single measured figures, e.g. response size or RSS, in the order added.</summary>
    public List<KeyValuePair<string, string>> Figures { get; } = [];

    public List<TargetCheck> Targets { get; } = [];

    /// <summary>The service's CPU per call by component, one per traced run (<c>--trace</c>).</summary>
    public List<CpuBreakdown> Profiles { get; } = [];

    public List<string> Notes { get; } = [];

    /// <summary>Bytes as whole mebibytes, e.g. <c>243 MiB</c>.</summary>
    public static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0} MiB");

    public void Add(LoadResult run)
    {
        Runs.Add(run);
        Console.WriteLine($"  {run.Name}, {run.Callers} callers: {run.Throughput:0.0}/s, p50 {run.Latency.P50:0.###} ms, p99 {run.Latency.P99:0.###} ms, errors {run.ErrorCount}; CPU {run.Cpu}");
    }

    public void Figure(string name, string value)
    {
        Figures.Add(new(name, value));
        Console.WriteLine($"  {name}: {value}");
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"### {Scenario} ({_started:yyyy-MM-dd HH:mm} UTC)");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine}. Warm-up {options.Warmup.TotalSeconds:0.#} s, window {options.Duration.TotalSeconds:0.#} s.");
        md.AppendLine();
        if (Runs.Count > 0)
        {
            md.AppendLine("| run | callers | ops/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | CPU cores: bench / service / emulator / redis / other |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in Runs)
            {
                var cpu = r.Cpu is { } c ? $"{c.Bench:0.00} / {c.Service:0.00} / {c.Emulator:0.00} / {c.Redis:0.00} / {c.Other:0.00}" : "";
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {r.Name} | {r.Callers} | {r.Throughput:0.0} | {r.Latency.P50:0.###} | {r.Latency.P90:0.###} | {r.Latency.P99:0.###} | {r.Latency.P999:0.###} | {r.Latency.Max:0.###} | {Errors(r)} | {cpu} |");
            }

            md.AppendLine();
        }

        var extras = Runs.SelectMany(r => r.Extra.Select(e => (Run: r, Metric: e.Key, Summary: e.Value))).ToList();
        if (extras.Count > 0)
        {
            md.AppendLine("| run | callers | metric | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
            md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|");
            foreach (var (run, metric, s) in extras)
            {
                md.AppendLine(CultureInfo.InvariantCulture,
                    $"| {run.Name} | {run.Callers} | {metric} | {s.Count} | {s.P50:0.###} | {s.P90:0.###} | {s.P99:0.###} | {s.P999:0.###} | {s.Max:0.###} |");
            }

            md.AppendLine();
        }

        foreach (var (name, value) in Figures)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {name}: {value}");
        }

        if (Figures.Count > 0)
        {
            md.AppendLine();
        }

        foreach (var profile in Profiles)
        {
            md.AppendLine(profile.ToMarkdown());
        }

        if (Targets.Count > 0)
        {
            md.AppendLine("| target | measured | met |");
            md.AppendLine("|---|---|---|");
            foreach (var t in Targets)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {t.Target} | {t.Measured} | {(t.Met ? "yes" : "**no**")} |");
            }

            md.AppendLine();
        }

        foreach (var note in Notes)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        return md.ToString();
    }

    /// <summary>Prints the markdown and writes <c>&lt;scenario&gt;-&lt;time&gt;.json</c> and <c>.md</c>; returns the JSON path.</summary>
    public async Task<string> WriteAsync()
    {
        var markdown = ToMarkdown();
        Console.WriteLine();
        Console.WriteLine(markdown);
        Directory.CreateDirectory(options.OutputDirectory);
        var stem = Path.Combine(options.OutputDirectory, $"{Scenario}-{_started:yyyyMMdd-HHmmss}");
        var document = new
        {
            Scenario,
            StartedUtc = _started,
            Machine,
            Options = new
            {
                options.Concurrency,
                DurationSeconds = options.Duration.TotalSeconds,
                WarmupSeconds = options.Warmup.TotalSeconds,
                options.Chats,
                options.TurnsPerChat,
                options.CallersPerChannel,
                options.Streams,
                options.OpenConcurrency,
                HoldSeconds = options.Hold.TotalSeconds,
                options.Replies,
                options.Cancels,
                options.FanOutReplies,
                options.FollowersPerReply,
                TimeToFirstTokenSeconds = options.TimeToFirstToken.TotalSeconds,
                options.TokensPerSecond,
                options.MinTokens,
                options.MaxTokens,
                options.Baselines,
                options.FreshEmulator,
                options.TraceDirectory,
                Profiler = options.TraceDirectory is null ? null : options.Profiler,
            },
            Runs = Runs.Select(r => new
            {
                r.Name,
                r.Callers,
                r.Operations,
                r.Seconds,
                r.Throughput,
                r.Latency,
                ErrorCount = r.ErrorCount,
                r.Errors,
                r.ErrorSamples,
                r.Extra,
                r.Cpu,
            }),
            Figures = Figures.ToDictionary(f => f.Key, f => f.Value),
            Targets,
            Profiles,
            Notes,
        };
        await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(document, Json));
        await File.WriteAllTextAsync(stem + ".md", markdown);
        Console.WriteLine($"written: {stem}.json, {stem}.md");
        return stem + ".json";
    }

    private static string Errors(LoadResult run) =>
        run.ErrorCount == 0 ? "0" : string.Join(", ", run.Errors.Select(e => $"{e.Key} {e.Value}"));
}
