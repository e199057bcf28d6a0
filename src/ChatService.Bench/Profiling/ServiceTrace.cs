using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatService.Bench.Infrastructure;

namespace ChatService.Bench.Profiling;

/// <summary>
/// A CPU sample trace of the service process over one measured window, taken with dotnet-trace's
/// <c>dotnet-sampled-thread-time</c> profile (EventPipe's sample profiler: every managed thread's stack
/// about once a millisecond, each marked as running managed code or as in native code) and the runtime's
/// GC events (collections, and every suspension of the runtime with its reason), together with each of
/// the process's threads' CPU time from <c>/proc</c> over the window.
/// </summary>
/// <param name="TracePath">The <c>.nettrace</c> file.</param>
/// <param name="Threads">CPU seconds each thread used over the window, by thread id, with its name.</param>
/// <param name="WindowSeconds">Wall time between the two reads of the threads' CPU time.</param>
internal sealed record ServiceTrace(string TracePath, IReadOnlyDictionary<int, ThreadCpu> Threads, double WindowSeconds)
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

    /// <summary>dotnet-trace from PATH, else where <c>dotnet tool install -g</c> puts it.</summary>
    public static string FindTool()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(home, ".dotnet", "tools"))
            .Select(dir => Path.Combine(dir, "dotnet-trace"));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("--trace needs dotnet-trace: dotnet tool install -g dotnet-trace");
    }

    /// <summary>
    /// Waits until <paramref name="warmup"/> from now (less <see cref="Lead"/>), traces <paramref name="pid"/>
    /// for <paramref name="window"/>, reads every thread's CPU time at the window's start and end, and
    /// returns once dotnet-trace has written <paramref name="tracePath"/> (its output goes to <c>.log</c> beside it).
    /// </summary>
    public static async Task<ServiceTrace> CaptureAsync(
        int pid, string tracePath, TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        var tool = FindTool();
        var lead = warmup < Lead ? warmup : Lead;
        await Task.Delay(warmup - lead, cancellationToken);

        // dd:hh:mm:ss, whole seconds.
        var duration = TimeSpan.FromSeconds(Math.Max(1, Math.Floor(window.TotalSeconds)));
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "collect", "-p", pid.ToString(CultureInfo.InvariantCulture), "--profile", Profile, "--clrevents", "gc", "--clreventlevel", "informational",
            "--duration", duration.ToString(@"dd\:hh\:mm\:ss", CultureInfo.InvariantCulture), "-o", tracePath,
        })
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        void Append(object sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        }

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Task.Delay(lead, cancellationToken);
            var before = ProcessProbe.ThreadCpuSeconds(pid);
            var from = Stopwatch.GetTimestamp();
            await Task.Delay(window, cancellationToken);
            var after = ProcessProbe.ThreadCpuSeconds(pid);
            var windowSeconds = Stopwatch.GetElapsedTime(from).TotalSeconds;

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stop.CancelAfter(StopGrace);
            await process.WaitForExitAsync(stop.Token);
            string log;
            lock (output)
            {
                log = output.ToString();
            }

            await File.WriteAllTextAsync(tracePath + ".log", log, CancellationToken.None);
            if (process.ExitCode != 0 || !File.Exists(tracePath))
            {
                throw new InvalidOperationException($"dotnet-trace exited with {process.ExitCode}: {log.Trim()}");
            }

            var threads = after.ToDictionary(
                t => t.Key,
                t => before.TryGetValue(t.Key, out var b) ? t.Value with { User = t.Value.User - b.User, System = t.Value.System - b.System } : t.Value);
            return new ServiceTrace(tracePath, threads, windowSeconds);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
