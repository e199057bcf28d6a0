using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ChatService.Bench.Load;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ChatService.Bench.Profiling;

/// <summary>One component's part of the service's CPU, with the frames that decided most of it.</summary>
internal sealed record ComponentCost(string Component, double Percent, double MicrosPerCall, IReadOnlyList<string> TopFrames);

/// <summary>
/// Threads of one name: their CPU by <c>/proc</c> (cores over the window, user and system) against what their
/// samples say (on-CPU samples in managed and in native code, over the samples one thread gets in the trace).
/// </summary>
internal sealed record ThreadCost(string Name, int Threads, double UserCores, double SystemCores, double? SampledManagedCores, double? SampledNativeCores);

/// <summary>
/// The runtime's stops during the trace: garbage collections (by generation) and how long the runtime was
/// suspended for them, and the other suspensions (the sample profiler suspends the runtime for every sample).
/// </summary>
internal sealed record RuntimePauses(int Gen0, int Gen1, int Gen2, double GcPauseMs, int OtherSuspensions, double OtherPauseMs);

/// <summary>
/// The service's CPU per call by component, from a <see cref="ServiceTrace"/> and the run it was taken in.
/// Each sampled thread's CPU time from <c>/proc</c> is spread over its on-CPU samples, charged by
/// <see cref="CpuComponents"/>: its user time over its samples in managed code, its system time over its
/// samples in native code (system calls). Managed samples overstate running time (a thread preempted in
/// managed code still samples as managed; on this machine about twice its user time), samples in system
/// calls do not. The runtime's own threads (the server GC's, EventPipe's) are charged by name. The shares,
/// times the service CPU per call that the bench measured (service cores / calls per second), give
/// microseconds per call.
/// </summary>
internal sealed partial record CpuBreakdown(
    string Run,
    int Callers,
    double Throughput,
    double ServiceCores,
    double MicrosPerCall,
    string TracePath,
    double TraceSeconds,
    long Samples,
    double SamplesPerThreadPerSecond,
    long OnCpuSamples,
    long GcPollSamples,
    long WaitSamples,
    long NoFrameSamples,
    RuntimePauses Pauses,
    IReadOnlyList<ComponentCost> Components,
    IReadOnlyList<ThreadCost> Threads)
{
    private const int TopFrameCount = 3;

    /// <summary>With fewer samples than this in managed (or in native) code, a thread's CPU is spread over all its on-CPU samples alike.</summary>
    private const int MinSamplesPerMode = 20;

    public static CpuBreakdown Analyze(ServiceTrace trace, LoadResult run)
    {
        var samples = ReadTrace(trace.TracePath, out var traceSeconds, out var pauses);
        if (samples.Count == 0)
        {
            throw new InvalidOperationException($"{trace.TracePath} has no thread samples");
        }

        var charged = ChargeThreads(trace, samples);
        var byComponent = charged.GroupBy(c => c.Key.Component).ToDictionary(g => g.Key, g => g.Sum(c => c.Value));
        var total = byComponent.Values.Sum();
        var serviceCores = run.Cpu?.Service ?? 0;
        var microsPerCall = run.Throughput > 0 ? serviceCores / run.Throughput * 1e6 : 0;
        var components = CpuComponents.All
            .Where(byComponent.ContainsKey)
            .Select(c => new ComponentCost(
                c,
                Math.Round(100 * byComponent[c] / total, 1),
                Math.Round(microsPerCall * byComponent[c] / total, 1),
                [.. charged.Where(f => f.Key.Component == c).OrderByDescending(f => f.Value).Take(TopFrameCount)
                    .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Key.Frame} {100 * f.Value / byComponent[c]:0}%"))]))
            .ToList();

        var perThread = samples.Values.Max(s => s.Total);
        var threads = trace.Threads
            .GroupBy(t => t.Value.Name, StringComparer.Ordinal)
            .Select(g =>
            {
                var sampled = g.Where(t => samples.ContainsKey(t.Key)).Select(t => samples[t.Key]).ToList();
                double? Sampled(bool native) => sampled.Count == 0 ? null
                    : Math.Round(sampled.Sum(s => s.OnCpu.Where(c => c.Key.Native == native).Sum(c => c.Value)) / (double)perThread, 3);
                return new ThreadCost(
                    g.Key,
                    g.Count(),
                    Math.Round(g.Sum(t => t.Value.User) / trace.WindowSeconds, 3),
                    Math.Round(g.Sum(t => t.Value.System) / trace.WindowSeconds, 3),
                    Sampled(native: false),
                    Sampled(native: true));
            })
            .Where(t => t.UserCores + t.SystemCores >= 0.005 || t.SampledManagedCores + t.SampledNativeCores >= 0.005)
            .OrderByDescending(t => t.UserCores + t.SystemCores)
            .ToList();

        return new CpuBreakdown(
            run.Name,
            run.Callers,
            run.Throughput,
            serviceCores,
            Math.Round(microsPerCall, 1),
            trace.TracePath,
            Math.Round(traceSeconds, 2),
            samples.Values.Sum(s => s.Total),
            Math.Round(perThread / Math.Max(traceSeconds, 1e-3)),
            samples.Values.Sum(s => s.OnCpu.Values.Sum()),
            samples.Values.Sum(s => s.GcPolls),
            samples.Values.Sum(s => s.Waits),
            samples.Values.Sum(s => s.NoFrames),
            pauses,
            components,
            threads);
    }

    public string ToMarkdown()
    {
        static string Percent(double part, double whole) => (100 * part / Math.Max(whole, 1e-9)).ToString("0.0", CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"#### Service CPU per call by component: {Run}, {Callers} callers");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture,
            $"{ServiceCores:0.00} service cores at {Throughput:0.0} calls/s = **{MicrosPerCall:0.0} µs of service CPU per call**, split by a `dotnet-trace` sample profile ({ServiceTrace.Profile}) of {TraceSeconds:0.0} s of the window: each thread's user CPU time (`/proc`) is spread over its samples in managed code, its system time over its samples in system calls; the first frame from the leaf that a rule matches decides the component (src/ChatService.Bench/Profiling/CpuComponents.cs).");
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
        md.AppendLine(CultureInfo.InvariantCulture,
            $"- samples: {Samples} (up to {SamplesPerThreadPerSecond:0} a second per thread); on CPU {OnCpuSamples} (managed code running or ready to run, or native code that is not a known wait; {Percent(GcPollSamples, OnCpuSamples)}% of them stopped at a GC poll, charged to the code that reached it), waits left out {WaitSamples}, no named frame (left out) {NoFrameSamples}");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"- runtime suspended for GC: {Pauses.Gen0 + Pauses.Gen1 + Pauses.Gen2} collections (gen0 {Pauses.Gen0}, gen1 {Pauses.Gen1}, gen2 {Pauses.Gen2}), {Pauses.GcPauseMs:0} ms = {Percent(Pauses.GcPauseMs, TraceSeconds * 1000)}% of the trace; for other reasons (the sampler's suspensions): {Pauses.OtherSuspensions} times, {Pauses.OtherPauseMs:0} ms = {Percent(Pauses.OtherPauseMs, TraceSeconds * 1000)}%");
        md.AppendLine("- threads, cores over the window by /proc (user + system) and by samples (managed + native): " + string.Join("; ", Threads.Select(t => string.Create(CultureInfo.InvariantCulture,
            $"{t.Name}{(t.Threads > 1 ? $" x{t.Threads}" : "")} {t.UserCores:0.000} + {t.SystemCores:0.000}, {(t.SampledManagedCores is { } m ? $"{m:0.000} + {t.SampledNativeCores:0.000}" : "not sampled")}"))));
        md.AppendLine(CultureInfo.InvariantCulture, $"- trace: {TracePath}");
        return md.ToString();
    }

    /// <summary>Every thread's CPU seconds over the window, charged to (component, deciding frame).</summary>
    private static Dictionary<(string Component, string Frame), double> ChargeThreads(ServiceTrace trace, Dictionary<int, ThreadSamples> samples)
    {
        var charged = new Dictionary<(string Component, string Frame), double>();
        void Charge(string component, string frame, double cpu) =>
            charged[(component, frame)] = charged.GetValueOrDefault((component, frame)) + cpu;
        void Spread(IEnumerable<KeyValuePair<(string Component, string Frame, bool Native), long>> over, double cpu)
        {
            var list = over.ToList();
            var count = (double)list.Sum(s => s.Value);
            foreach (var ((component, frame, _), n) in list)
            {
                Charge(component, frame, cpu * n / count);
            }
        }

        foreach (var (tid, cpu) in trace.Threads.Where(t => t.Value.Seconds > 0))
        {
            if (CpuComponents.ForThread(cpu.Name) is { } component)
            {
                Charge(component, $"thread {cpu.Name}", cpu.Seconds);
            }
            else if (!samples.TryGetValue(tid, out var thread))
            {
                Charge(CpuComponents.OtherUnsampled, $"thread {cpu.Name}", cpu.Seconds);
            }
            else if (thread.OnCpu.Count == 0)
            {
                Charge(CpuComponents.Other, $"thread {cpu.Name}: only wait samples", cpu.Seconds);
            }
            else if (thread.Count(native: false) >= MinSamplesPerMode && thread.Count(native: true) >= MinSamplesPerMode)
            {
                Spread(thread.OnCpu.Where(s => !s.Key.Native), cpu.User);
                Spread(thread.OnCpu.Where(s => s.Key.Native), cpu.System);
            }
            else
            {
                Spread(thread.OnCpu, cpu.Seconds);
            }
        }

        return charged;
    }

    /// <summary>Per sampled thread: its samples, and its on-CPU samples by (component, deciding frame, native); and the runtime's pauses.</summary>
    private static Dictionary<int, ThreadSamples> ReadTrace(string tracePath, out double traceSeconds, out RuntimePauses pauses)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(tracePath);
        using var log = new TraceLog(etlx);
        var source = log.Events.GetSource();
        var stacks = new Dictionary<CallStackIndex, Attributed>();
        var rules = new Dictionary<string, int>(StringComparer.Ordinal);
        var threads = new Dictionary<int, ThreadSamples>();
        double first = double.NaN, last = 0;
        new SampleProfilerTraceEventParser(source).ThreadSample += sample =>
        {
            first = double.IsNaN(first) ? sample.TimeStampRelativeMSec : first;
            last = sample.TimeStampRelativeMSec;
            if (!threads.TryGetValue(sample.ThreadID, out var thread))
            {
                threads[sample.ThreadID] = thread = new ThreadSamples();
            }

            thread.Total++;
            var stack = sample.CallStack();
            var index = stack?.CallStackIndex ?? CallStackIndex.Invalid;
            if (!stacks.TryGetValue(index, out var attributed))
            {
                stacks[index] = attributed = Attribute(stack, rules);
            }

            if (attributed.FirstNamed is null)
            {
                thread.NoFrames++;
            }
            else if (!CpuComponents.IsOnCpu(sample.Type == ClrThreadSampleType.Managed, attributed.FirstNamed))
            {
                thread.Waits++;
            }
            else
            {
                var key = (attributed.Component, attributed.Frame, sample.Type != ClrThreadSampleType.Managed);
                thread.OnCpu[key] = thread.OnCpu.GetValueOrDefault(key) + 1;
                thread.GcPolls += CpuComponents.IsGcPoll(attributed.FirstNamed) ? 1 : 0;
            }
        };

        var generations = new int[3];
        double gcPause = 0, otherPause = 0, suspendedAt = double.NaN;
        var otherSuspensions = 0;
        var forGc = false;
        source.Clr.GCStart += gc => generations[Math.Min(gc.Depth, 2)]++;
        source.Clr.GCSuspendEEStart += suspend =>
        {
            suspendedAt = suspend.TimeStampRelativeMSec;
            forGc = suspend.Reason is GCSuspendEEReason.SuspendForGC or GCSuspendEEReason.SuspendForGCPrep;
        };
        source.Clr.GCRestartEEStop += restart =>
        {
            if (double.IsNaN(suspendedAt))
            {
                return;
            }

            var paused = restart.TimeStampRelativeMSec - suspendedAt;
            suspendedAt = double.NaN;
            if (forGc)
            {
                gcPause += paused;
            }
            else
            {
                otherPause += paused;
                otherSuspensions++;
            }
        };

        source.Process();
        traceSeconds = double.IsNaN(first) ? 0 : (last - first) / 1000;
        pauses = new RuntimePauses(generations[0], generations[1], generations[2], Math.Round(gcPause, 1), otherSuspensions, Math.Round(otherPause, 1));
        return threads;
    }

    /// <summary>Reads a stack from the leaf: its first named frame, and the component and frame that decide it.</summary>
    private static Attributed Attribute(TraceCallStack? stack, Dictionary<string, int> rules)
    {
        string? firstNamed = null;
        (int Rule, string Frame)? decided = null;
        for (var frame = stack; frame is not null; frame = frame.Caller)
        {
            var method = frame.CodeAddress.FullMethodName;
            if (string.IsNullOrEmpty(method) || method == "?")
            {
                continue;
            }

            var name = $"{frame.CodeAddress.ModuleName}!{method}";
            firstNamed ??= name;
            if (!rules.TryGetValue(name, out var rule))
            {
                rules[name] = rule = CpuComponents.RuleFor(name);
            }

            if (rule < 0 || (decided is not null && CpuComponents.Rules[rule].ShowCaller))
            {
                continue;
            }

            if (decided is { } by)
            {
                // The deciding rule shows its caller: the first frame of a component above locks and sockets.
                return new(firstNamed, CpuComponents.Rules[by.Rule].Component, $"{by.Frame} <- {ShortName(name)}");
            }

            decided = (rule, ShortName(name));
            if (!CpuComponents.Rules[rule].ShowCaller)
            {
                break;
            }
        }

        return decided is { } d
            ? new(firstNamed, CpuComponents.Rules[d.Rule].Component, d.Frame)
            : new(firstNamed, CpuComponents.Other, firstNamed is null ? "" : ShortName(firstNamed));
    }

    /// <summary><c>Module!A.B.Type+Nested[Generic].Method(args)</c> as <c>B.Type+Nested.Method</c>.</summary>
    private static string ShortName(string frame)
    {
        var name = frame[(frame.IndexOf('!') + 1)..];
        var args = name.IndexOf('(');
        name = (args >= 0 ? name[..args] : name).Replace("pb::Google.Protobuf.IBufferMessage.", "", StringComparison.Ordinal);
        for (var shorter = GenericArguments().Replace(name, ""); shorter != name; shorter = GenericArguments().Replace(name, ""))
        {
            name = shorter;
        }

        var parts = name.Split('.');
        return string.Join('.', parts.Skip(Math.Max(0, parts.Length - 3)));
    }

    /// <summary>A table cell: a code span, with the pipes of local-function names escaped.</summary>
    private static string Cell(string frame) => $"`{frame.Replace("|", "\\|", StringComparison.Ordinal)}`";

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex GenericArguments();

    private readonly record struct Attributed(string? FirstNamed, string Component, string Frame);

    private sealed class ThreadSamples
    {
        public long Total { get; set; }

        public long Waits { get; set; }

        public long NoFrames { get; set; }

        public long GcPolls { get; set; }

        /// <summary>On-CPU samples by component, deciding frame, and whether the thread was in native code.</summary>
        public Dictionary<(string Component, string Frame, bool Native), long> OnCpu { get; } = [];

        public long Count(bool native) => OnCpu.Where(s => s.Key.Native == native).Sum(s => s.Value);
    }
}
