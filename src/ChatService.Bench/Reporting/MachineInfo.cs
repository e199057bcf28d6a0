using System.Diagnostics;
using System.Runtime.InteropServices;
using ChatService.Bench.Infrastructure;

namespace ChatService.Bench.Reporting;

/// <summary>What the numbers were measured on.</summary>
internal sealed record MachineInfo(string CpuModel, int Cores, double MemoryGiB, string Os, string Runtime, string Sdk, string LoadAverageAtStart, string Commit)
{
    public static MachineInfo Collect() => new(
        ProcessProbe.CpuModel(),
        Environment.ProcessorCount,
        Math.Round(ProcessProbe.MemTotalBytes() / (1024.0 * 1024 * 1024), 1),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        SdkVersion(),
        ProcessProbe.LoadAverage(),
        ServiceCommit());

    public override string ToString() =>
        $"{CpuModel}, {Cores} cores, {MemoryGiB} GiB, {Os}, {Runtime} (SDK {Sdk}), load average at start {LoadAverageAtStart}; service at {Commit}";

    private static string SdkVersion() => Run("dotnet", "--version") ?? "unknown";

    /// <summary>The commit the service was built from, and whether its sources had local changes.</summary>
    private static string ServiceCommit()
    {
        var head = Run("git", "rev-parse --short HEAD");
        if (head is null)
        {
            return "unknown commit";
        }

        var dirty = Run("git", "status --porcelain -- src/ChatService src/Spanner.Client protos");
        return string.IsNullOrEmpty(dirty) ? $"commit {head}" : $"commit {head} with local changes";
    }

    private static string? Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            var output = process!.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
