using System.Diagnostics;
using System.Runtime.InteropServices;
using ChatService.Bench.Infrastructure;

namespace ChatService.Bench.Reporting;

/// <summary>What the numbers were measured on.</summary>
internal sealed record MachineInfo(string CpuModel, int Cores, double MemoryGiB, string Os, string Runtime, string Sdk, string LoadAverageAtStart)
{
    public static MachineInfo Collect() => new(
        ProcessProbe.CpuModel(),
        Environment.ProcessorCount,
        Math.Round(ProcessProbe.MemTotalBytes() / (1024.0 * 1024 * 1024), 1),
        RuntimeInformation.OSDescription,
        RuntimeInformation.FrameworkDescription,
        SdkVersion(),
        ProcessProbe.LoadAverage());

    public override string ToString() =>
        $"{CpuModel}, {Cores} cores, {MemoryGiB} GiB, {Os}, {Runtime} (SDK {Sdk}), load average at start {LoadAverageAtStart}";

    private static string SdkVersion()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false });
            var version = process!.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return version;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
