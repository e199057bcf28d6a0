using System.Globalization;

namespace ChatService.Bench.Infrastructure;

/// <summary>Reads what Linux says about processes in <c>/proc</c>: memory and CPU time.</summary>
internal static class ProcessProbe
{
    /// <summary>Clock ticks per second of <c>/proc/*/stat</c> times; 100 on every Linux this runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary><c>VmRSS</c> and <c>VmHWM</c> (peak RSS) of a process, in bytes; zeros once it is gone.</summary>
    public static (long Rss, long PeakRss) Memory(int pid)
    {
        try
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line) * 1024;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    hwm = Kilobytes(line) * 1024;
                }
            }

            return (rss, hwm);
        }
        catch (IOException)
        {
            return (0, 0);
        }
    }

    /// <summary>User + system CPU seconds a process has used so far; 0 once it is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
            var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (utime + stime) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Each thread of a process: its name (<c>comm</c>, e.g. <c>.NET TP Worker</c>) and its user and system
    /// CPU seconds so far, by thread id; threads that end while they are read are left out.
    /// </summary>
    public static IReadOnlyDictionary<int, ThreadCpu> ThreadCpuSeconds(int pid)
    {
        var threads = new Dictionary<int, ThreadCpu>();
        foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                threads[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = new ThreadCpu(
                    stat[(open + 1)..close],
                    long.Parse(fields[11], CultureInfo.InvariantCulture) / TicksPerSecond,
                    long.Parse(fields[12], CultureInfo.InvariantCulture) / TicksPerSecond);
            }
            catch (IOException)
            {
                // Ended while we looked.
            }
        }

        return threads;
    }

    /// <summary>Busy and total CPU seconds of the whole machine (all cores), from <c>/proc/stat</c>.</summary>
    public static (double Busy, double Total) MachineCpuSeconds()
    {
        var first = File.ReadLines("/proc/stat").First();
        var ticks = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var total = ticks.Take(8).Sum();
        var idle = ticks[3] + ticks[4];
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    /// <summary>Pids whose command line (arguments joined by spaces) matches.</summary>
    public static IReadOnlyList<int> FindPids(Func<string, bool> matches)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                if (cmdline.Length > 0 && matches(cmdline))
                {
                    pids.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked.
            }
        }

        return pids;
    }

    public static string CpuModel()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':') + 1)..].Trim();
    }

    public static long MemTotalBytes() =>
        Kilobytes(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))) * 1024;

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}

/// <summary>A thread's name and CPU seconds in user and in kernel mode.</summary>
internal sealed record ThreadCpu(string Name, double User, double System)
{
    public double Seconds => User + System;
}
