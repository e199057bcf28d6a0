using System.Globalization;
using ChatService.Bench.Load;

namespace ChatService.Bench.Profiling;

/// <summary>
/// <c>--profiler perf</c>: Linux perf samples the machine's CPUs over the window (<c>cpu-clock</c> at 999 Hz
/// with call stacks, kernel included), and the service's samples are kept: each is a millisecond that a
/// service thread spent on a CPU, in the kernel or in user code. JIT-compiled frames are named from the runtime's perf map
/// (the service runs with <see cref="ServiceEnvironment"/>); ReadyToRun code that was never re-compiled is named
/// by its module only. The runtime's threads are charged by name, every other sample by
/// <see cref="CpuComponents"/>, and a socket sample by its system call (send or receive).
/// </summary>
internal static class PerfProfile
{
    /// <summary>
    /// The service's environment for perf: the runtime writes <c>/tmp/perf-PID.map</c> (3: the perf map only),
    /// and JIT-compiled code is not double-mapped (W^X off), so that perf finds it in anonymous memory and
    /// names it from the map (with W^X on, perf sees a <c>memfd:doublemapper</c> file and does not).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ServiceEnvironment = new Dictionary<string, string>
    {
        ["DOTNET_PerfMapEnabled"] = "3",
        ["DOTNET_EnableWriteXorExecute"] = "0",
    };

    private const int Frequency = 999;

    private static readonly TimeSpan StopGrace = TimeSpan.FromMinutes(2);

    private static readonly string[] SendCalls = ["sendto", "sendmsg", "sendmmsg", "write", "writev"];

    private static readonly string[] ReceiveCalls = ["recvfrom", "recvmsg", "read", "readv", "epoll_wait", "epoll_pwait", "epoll_ctl"];

    public static string FindTool() => ToolProcess.Find("perf", "apt-get install linux-perf");

    /// <summary>
    /// From <paramref name="warmup"/> from now, records <paramref name="pid"/> for <paramref name="window"/> into
    /// <paramref name="dataPath"/>; returns what turns the recording into a breakdown of the run.
    /// </summary>
    public static async Task<Func<LoadResult, Task<CpuBreakdown>>> CaptureAsync(
        int pid, string dataPath, TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        await Task.Delay(warmup, cancellationToken);
        using var perf = ToolProcess.Start(FindTool(),
        [
            // Every CPU (-a), not -p: a thread the service starts during the window (a thread-pool worker, a
            // Redis backlog thread) is sampled too. perf script keeps the service's samples.
            "record", "-e", "cpu-clock", "-F", Frequency.ToString(CultureInfo.InvariantCulture), "-g", "-a", "-o", dataPath,
            "--", "sleep", window.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture),
        ]);
        await perf.WaitAsync(window + StopGrace, cancellationToken);
        return run => AnalyzeAsync(dataPath, pid, window, run, cancellationToken);
    }

    private static async Task<CpuBreakdown> AnalyzeAsync(string dataPath, int pid, TimeSpan window, LoadResult run, CancellationToken cancellationToken)
    {
        var charged = new Dictionary<(string Component, string Frame), double>();
        var syscalls = new Dictionary<string, long>(StringComparer.Ordinal);
        long samples = 0, inKernel = 0, managedFrames = 0, moduleOnlyFrames = 0;
        string? comm = null;
        var frames = new List<(string Sym, string Dso)>();

        void AddSample()
        {
            samples++;
            inKernel += frames.Count > 0 && frames[0].Dso == "[kernel.kallsyms]" ? 1 : 0;
            var syscall = frames.Select(f => f.Dso == "[kernel.kallsyms]" && f.Sym.StartsWith("__x64_sys_", StringComparison.Ordinal) ? f.Sym[10..] : null)
                .FirstOrDefault(s => s is not null);
            if (syscall is not null)
            {
                syscalls[syscall] = syscalls.GetValueOrDefault(syscall) + 1;
            }

            var names = frames.Select(ManagedName).ToList();
            managedFrames += names.Count(n => n is not null);
            moduleOnlyFrames += names.Count(n => n?.EndsWith("!?", StringComparison.Ordinal) == true);
            var (component, frame) = CpuComponents.ForThread(comm!) is { } byThread ? (byThread, $"thread {comm}")
                : names.All(n => n is null) ? (CpuComponents.Other, $"native code on {comm}: {Path.GetFileName(frames.FirstOrDefault().Dso)}")
                : CpuComponents.Attribute(names);
            if (component is CpuComponents.SocketSend or CpuComponents.SocketReceive or CpuComponents.Other && syscall is not null)
            {
                // A socket's frames may be ReadyToRun code named by module only: the system call tells send from receive.
                var bySyscall = SendCalls.Contains(syscall) ? CpuComponents.SocketSend : ReceiveCalls.Contains(syscall) ? CpuComponents.SocketReceive : null;
                if (bySyscall is not null && bySyscall != component)
                {
                    (component, frame) = (bySyscall, component == CpuComponents.Other ? $"kernel {syscall}" : frame);
                }
            }

            charged[(component, frame)] = charged.GetValueOrDefault((component, frame)) + 1;
        }

        using (var script = ToolProcess.Start(FindTool(),
            ["script", "-i", dataPath, "--pid", pid.ToString(CultureInfo.InvariantCulture), "-F", "comm,tid,ip,sym,dso"], readOutput: true))
        {
            while (await script.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    if (comm is not null)
                    {
                        AddSample();
                    }

                    comm = null;
                    frames.Clear();
                }
                else if (line[0] != '\t')
                {
                    // "<comm> <tid>": the name may hold spaces.
                    var trimmed = line.Trim();
                    comm = trimmed[..trimmed.LastIndexOf(' ')].Trim();
                }
                else if (ParseFrame(line) is { } parsed)
                {
                    frames.Add(parsed);
                }
            }

            if (comm is not null)
            {
                AddSample();
            }

            await script.WaitAsync(StopGrace, cancellationToken);
        }

        if (samples == 0)
        {
            throw new InvalidOperationException($"{dataPath} has no samples");
        }

        static string Percent(double part, double whole) => (100 * part / Math.Max(whole, 1e-9)).ToString("0.0", CultureInfo.InvariantCulture);
        string[] notes =
        [
            string.Create(CultureInfo.InvariantCulture,
                $"samples: {samples} at {Frequency} Hz over {window.TotalSeconds:0.#} s = {samples / (double)Frequency / window.TotalSeconds:0.00} service cores by perf ({run.Cpu?.Service:0.00} by /proc over the bench's window)"),
            $"in the kernel: {Percent(inKernel, samples)}% of the samples; by system call: " + string.Join(", ",
                syscalls.OrderByDescending(s => s.Value).Take(8).Select(s => $"{s.Key} {Percent(s.Value, samples)}%")),
            $"managed frames named from /tmp/perf-{pid}.map: {Percent(managedFrames - moduleOnlyFrames, managedFrames)}%; the rest are ReadyToRun code named by module only",
        ];
        return CpuBreakdown.From(run, "perf", string.Create(CultureInfo.InvariantCulture,
            $"Shares from `perf record -e cpu-clock -F {Frequency} -g -a` (the service's samples) over {window.TotalSeconds:0.#} s of the window: each sample is a millisecond a service thread spent on a CPU."),
            dataPath, charged, notes);
    }

    /// <summary><c>\t ip sym (dso)</c>; a deleted file's dso ends <c>(deleted))</c>.</summary>
    private static (string Sym, string Dso)? ParseFrame(string line)
    {
        var text = line.Trim().Replace(" (deleted))", ")", StringComparison.Ordinal);
        var space = text.IndexOf(' ');
        var dsoStart = text.LastIndexOf(" (", StringComparison.Ordinal);
        return space < 0 || dsoStart < space || !text.EndsWith(')') ? null : (text[(space + 1)..dsoStart], text[(dsoStart + 2)..^1]);
    }

    /// <summary>A frame as <c>Module!Namespace.Type.Method(args)</c>; <c>Module!?</c> for ReadyToRun code; null for native code.</summary>
    private static string? ManagedName((string Sym, string Dso) frame) =>
        frame.Dso.StartsWith("/tmp/perf-", StringComparison.Ordinal) ? JitName(frame.Sym)
        : frame.Sym == "[unknown]" && frame.Dso.EndsWith(".dll", StringComparison.Ordinal) ? $"{Path.GetFileNameWithoutExtension(frame.Dso)}!?"
        : null;

    /// <summary>
    /// A perf map name, <c>instance bool [System.Private.CoreLib] System.Threading.LowLevelLifoSemaphore::Wait(int32,bool)[OptimizedTier1]</c>,
    /// as <c>System.Private.CoreLib!System.Threading.LowLevelLifoSemaphore.Wait(int32,bool)</c>; null for stubs.
    /// </summary>
    private static string? JitName(string symbol)
    {
        var separator = symbol.IndexOf("::", StringComparison.Ordinal);
        var typeStart = separator < 0 ? -1 : symbol.LastIndexOf("] ", separator, StringComparison.Ordinal);
        var moduleStart = typeStart < 0 ? -1 : symbol.LastIndexOf('[', typeStart);
        if (moduleStart < 0)
        {
            return null;
        }

        var method = symbol[(separator + 2)..];
        var tier = method.LastIndexOf(")[", StringComparison.Ordinal);
        method = tier >= 0 ? method[..(tier + 1)] : method;
        return $"{symbol[(moduleStart + 1)..typeStart]}!{symbol[(typeStart + 2)..separator]}.{method}";
    }
}
