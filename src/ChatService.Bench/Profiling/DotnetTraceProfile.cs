using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace ChatService.Bench.Profiling;

/// <summary>
/// <c>--profiler dotnet-trace</c>: dotnet-trace's <c>dotnet-sampled-thread-time</c> profile of the service over
/// the window (EventPipe's sample profiler: every managed thread's stack about once a millisecond, each
/// marked as in managed or in native code) with the runtime's GC events, and each thread's CPU time from
/// <c>/proc</c>. It samples threads, not CPUs: a sample says where a thread was, running or not. Samples
/// in native code inside a known wait are left out, the rest count as on CPU, and each thread's CPU time is
/// spread evenly over its on-CPU samples. On a saturated machine a thread that is ready to run but not
/// running still samples as on CPU, and the sampler suspends the runtime for every sample, so the shares
/// lean towards system calls, spinning and lock waits; <c>--profiler perf</c> samples CPUs.
/// </summary>
internal static class DotnetTraceProfile
{
    /// <summary>
    /// The only sampling profile <c>dotnet-trace collect</c> has (10.0). Its <c>cpu-sampling</c> profile
    /// belongs to <c>collect-linux</c>, which needs a kernel with user_events (not this machine's).
    /// </summary>
    public const string Profile = "dotnet-sampled-thread-time";

    /// <summary>
    /// dotnet-trace is started this long before the window: it needs about 0.4 s to start its session,
    /// so its samples begin just before the window (under the same warm load) and end before the load stops.
    /// </summary>
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(1);

    /// <summary>Time for dotnet-trace to write the rundown and exit after its duration.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromMinutes(2);

    /// <summary>
    /// A sample taken in native code (preemptive mode) counts as on CPU unless its first named frame is one of
    /// these blocking waits: semaphores, events, monitors, sleeps, joins, the socket engine's epoll wait, the
    /// file watcher's inotify read, a thread-pool worker parked in its semaphore. Samples in native code that
    /// are not waits are system calls that do work (socket sends and receives, semaphore releases) or the
    /// runtime's allocation path.
    /// </summary>
    private static readonly Regex Wait = new(
        @"!System\.Threading\.(WaitHandle\.Wait|LowLevelLifoSemaphore\.Wait|LowLevelMonitor\.Wait|Monitor\.Wait|ManualResetEventSlim\.Wait" +
        @"|SemaphoreSlim\.Wait|Thread\.Sleep|Thread\.Join|Tasks\.Task\.(SpinThenBlockingWait|InternalWait|Wait)|PortableThreadPool\+WorkerThread\.WorkerThreadStart" +
        @"|PortableThreadPool\+GateThread|TimerQueue\.TimerThread|WaitSubsystem)" +
        @"|^System\.Net\.Sockets!System\.Net\.Sockets\.SocketAsyncEngine\.EventLoop|^System\.IO\.FileSystem\.Watcher!|!Interop\+Sys\.(WaitForSocketEvents|Poll|WaitPid)", RegexOptions.CultureInvariant);

    /// <summary>The GC poll where a running thread stops when the runtime is suspended (for a sample, or for a GC).</summary>
    private static readonly Regex GcPoll = new(@"!System\.Threading\.Thread\.<?PollGC", RegexOptions.CultureInvariant);

    public static string FindTool() => ToolProcess.Find("dotnet-trace", "dotnet tool install -g dotnet-trace");

    /// <summary>
    /// From <paramref name="warmup"/> from now (less <see cref="Lead"/>), traces <paramref name="pid"/> for
    /// <paramref name="window"/> into <paramref name="tracePath"/> and reads each thread's CPU time at the
    /// window's start and end; returns what turns the trace into a breakdown of the run.
    /// </summary>
    public static async Task<Func<LoadResult, Task<CpuBreakdown>>> CaptureAsync(
        int pid, string tracePath, TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        var lead = warmup < Lead ? warmup : Lead;
        await Task.Delay(warmup - lead, cancellationToken);
        var duration = TimeSpan.FromSeconds(Math.Max(1, Math.Floor(window.TotalSeconds)));
        using var tool = ToolProcess.Start(FindTool(),
        [
            "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--profile", Profile,
            "--clrevents", "gc", "--clreventlevel", "informational",
            "--duration", duration.ToString(@"dd\:hh\:mm\:ss", CultureInfo.InvariantCulture), "-o", tracePath,
        ]);
        await Task.Delay(lead, cancellationToken);
        var before = ProcessProbe.ThreadCpuSeconds(pid);
        var from = Stopwatch.GetTimestamp();
        await Task.Delay(window, cancellationToken);
        var after = ProcessProbe.ThreadCpuSeconds(pid);
        var windowSeconds = Stopwatch.GetElapsedTime(from).TotalSeconds;
        await tool.WaitAsync(StopGrace, cancellationToken);

        var threads = after.ToDictionary(
            t => t.Key,
            t => before.TryGetValue(t.Key, out var b) ? t.Value with { User = t.Value.User - b.User, System = t.Value.System - b.System } : t.Value);
        return run => Task.FromResult(Analyze(tracePath, threads, windowSeconds, run));
    }

    private static CpuBreakdown Analyze(string tracePath, Dictionary<int, ThreadCpu> threads, double windowSeconds, LoadResult run)
    {
        var samples = ReadTrace(tracePath, out var traceSeconds, out var pauses);
        if (samples.Count == 0)
        {
            throw new InvalidOperationException($"{tracePath} has no thread samples");
        }

        // Each thread's CPU time over the window, spread evenly over its on-CPU samples.
        var charged = new Dictionary<(string Component, string Frame), double>();
        void Charge((string Component, string Frame) key, double cpu) => charged[key] = charged.GetValueOrDefault(key) + cpu;
        foreach (var (tid, cpu) in threads.Where(t => t.Value.Seconds > 0))
        {
            var thread = samples.GetValueOrDefault(tid);
            if (CpuComponents.ForThread(cpu.Name) is { } component)
            {
                Charge((component, $"thread {cpu.Name}"), cpu.Seconds);
            }
            else if (thread is null)
            {
                Charge((CpuComponents.OtherUnsampled, $"thread {cpu.Name}"), cpu.Seconds);
            }
            else if (thread.OnCpu.Count == 0)
            {
                Charge((CpuComponents.Other, $"thread {cpu.Name}: only wait samples"), cpu.Seconds);
            }
            else
            {
                var onCpu = (double)thread.OnCpu.Values.Sum();
                foreach (var (key, count) in thread.OnCpu)
                {
                    Charge(key, cpu.Seconds * count / onCpu);
                }
            }
        }

        var perThread = samples.Values.Max(s => s.Total);
        var sampled = samples.Values.Sum(s => s.Total);
        var onCpuSamples = samples.Values.Sum(s => s.OnCpu.Values.Sum());
        static string Percent(double part, double whole) => (100 * part / Math.Max(whole, 1e-9)).ToString("0.0", CultureInfo.InvariantCulture);
        var threadCheck = threads
            .GroupBy(t => t.Value.Name, StringComparer.Ordinal)
            .Select(g => (
                Name: g.Count() > 1 ? $"{g.Key} x{g.Count()}" : g.Key,
                Proc: g.Sum(t => t.Value.Seconds) / windowSeconds,
                Sampled: g.Any(t => samples.ContainsKey(t.Key))
                    ? g.Sum(t => samples.GetValueOrDefault(t.Key)?.OnCpu.Values.Sum() ?? 0) / (double)perThread
                    : (double?)null))
            .Where(t => t.Proc >= 0.005 || t.Sampled >= 0.005)
            .OrderByDescending(t => t.Proc);
        string[] notes =
        [
            string.Create(CultureInfo.InvariantCulture,
                $"samples: {sampled} over {traceSeconds:0.0} s (up to {perThread / Math.Max(traceSeconds, 1e-3):0} a second per thread); on CPU {onCpuSamples} (managed code, or native code that is not a known wait; {Percent(samples.Values.Sum(s => s.GcPolls), onCpuSamples)}% of them stopped at a GC poll, charged to the code that reached it), waits left out {samples.Values.Sum(s => s.Waits)}, no named frame (left out) {samples.Values.Sum(s => s.NoFrames)}"),
            string.Create(CultureInfo.InvariantCulture,
                $"runtime suspended for GC: {pauses.Collections} collections (gen0 {pauses.Gen0}, gen1 {pauses.Gen1}, gen2 {pauses.Gen2}), {pauses.GcMs:0} ms = {Percent(pauses.GcMs, traceSeconds * 1000)}% of the trace; for the sampler (other reasons): {pauses.OtherCount} times, {pauses.OtherMs:0} ms = {Percent(pauses.OtherMs, traceSeconds * 1000)}%"),
            "threads, cores over the window by /proc and by on-CPU samples (on-CPU samples / samples per thread): " + string.Join("; ",
                threadCheck.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name} {t.Proc:0.000} / {(t.Sampled is { } s ? s.ToString("0.000", CultureInfo.InvariantCulture) : "not sampled")}"))),
        ];
        return CpuBreakdown.From(run, "dotnet-trace", string.Create(CultureInfo.InvariantCulture,
            $"Shares from a `dotnet-trace` {Profile} profile of {traceSeconds:0.0} s of the window: each thread's CPU time (`/proc`) spread evenly over its on-CPU samples (a thread-time sampler: see the notes)."),
            tracePath, charged, notes);
    }

    /// <summary>Per sampled thread: its samples, and its on-CPU samples by (component, frame); and the runtime's pauses.</summary>
    private static Dictionary<int, ThreadSamples> ReadTrace(string tracePath, out double traceSeconds, out Pauses pauses)
    {
        using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(tracePath));
        var source = log.Events.GetSource();
        var stacks = new Dictionary<CallStackIndex, (string? FirstNamed, string Component, string Frame)>();
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
                var frames = Frames(stack).ToList();
                var (component, frame) = CpuComponents.Attribute(frames);
                stacks[index] = attributed = (frames.FirstOrDefault(f => f is not null), component, frame);
            }

            if (attributed.FirstNamed is null)
            {
                thread.NoFrames++;
            }
            else if (!IsOnCpu(sample.Type == ClrThreadSampleType.Managed, attributed.FirstNamed))
            {
                thread.Waits++;
            }
            else
            {
                var key = (attributed.Component, attributed.Frame);
                thread.OnCpu[key] = thread.OnCpu.GetValueOrDefault(key) + 1;
                thread.GcPolls += IsGcPoll(attributed.FirstNamed) ? 1 : 0;
            }
        };

        var generations = new int[3];
        double gcMs = 0, otherMs = 0, suspendedAt = double.NaN;
        var otherCount = 0;
        var forGc = false;
        source.Clr.GCStart += gc => generations[Math.Min(gc.Depth, 2)]++;
        source.Clr.GCSuspendEEStart += suspend =>
        {
            suspendedAt = suspend.TimeStampRelativeMSec;
            forGc = suspend.Reason is GCSuspendEEReason.SuspendForGC or GCSuspendEEReason.SuspendForGCPrep;
        };
        source.Clr.GCRestartEEStop += restart =>
        {
            if (!double.IsNaN(suspendedAt))
            {
                var paused = restart.TimeStampRelativeMSec - suspendedAt;
                (gcMs, otherMs, otherCount) = forGc ? (gcMs + paused, otherMs, otherCount) : (gcMs, otherMs + paused, otherCount + 1);
                suspendedAt = double.NaN;
            }
        };

        source.Process();
        traceSeconds = double.IsNaN(first) ? 0 : (last - first) / 1000;
        pauses = new Pauses(generations[0], generations[1], generations[2], gcMs, otherCount, otherMs);
        return threads;
    }

    /// <summary>Whether a sample is CPU time: managed code running (or ready to run), or native code that is not a known wait.</summary>
    /// <param name="managed">The sampler found the thread running managed code (cooperative mode).</param>
    /// <param name="firstNamedFrame">The sample's innermost frame with a name, or null when it has none.</param>
    private static bool IsOnCpu(bool managed, string? firstNamedFrame) =>
        firstNamedFrame is not null && (managed || !Wait.IsMatch(firstNamedFrame));

    /// <summary>Whether a sample's innermost named frame is the GC poll (the thread was stopped there).</summary>
    private static bool IsGcPoll(string? firstNamedFrame) => firstNamedFrame is not null && GcPoll.IsMatch(firstNamedFrame);

    /// <summary>A stack's frames from the leaf as <c>Module!Namespace.Type.Method(args)</c>, null where a frame has no name.</summary>
    private static IEnumerable<string?> Frames(TraceCallStack? stack)
    {
        for (var frame = stack; frame is not null; frame = frame.Caller)
        {
            var method = frame.CodeAddress.FullMethodName;
            yield return string.IsNullOrEmpty(method) || method == "?" ? null : $"{frame.CodeAddress.ModuleName}!{method}";
        }
    }

    /// <summary>Garbage collections by generation and time suspended for them, and the other suspensions (the sampler's).</summary>
    private sealed record Pauses(int Gen0, int Gen1, int Gen2, double GcMs, int OtherCount, double OtherMs)
    {
        public int Collections => Gen0 + Gen1 + Gen2;
    }

    private sealed class ThreadSamples
    {
        public long Total { get; set; }

        public long Waits { get; set; }

        public long NoFrames { get; set; }

        public long GcPolls { get; set; }

        /// <summary>On-CPU samples by component and deciding frame.</summary>
        public Dictionary<(string Component, string Frame), long> OnCpu { get; } = [];
    }
}
