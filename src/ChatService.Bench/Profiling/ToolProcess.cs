using System.Diagnostics;
using System.Text;

namespace ChatService.Bench.Profiling;

/// <summary>A profiling tool the bench runs (dotnet-trace, perf); what it prints is kept for the error when it fails.</summary>
internal sealed class ToolProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ToolProcess(string tool, IEnumerable<string> args, bool readOutput)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += Append;
        _process.ErrorDataReceived += Append;
        _process.Start();
        _process.BeginErrorReadLine();
        if (!readOutput)
        {
            _process.BeginOutputReadLine();
        }
    }

    /// <summary>Standard output, when started with <c>readOutput</c>.</summary>
    public StreamReader StandardOutput => _process.StandardOutput;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The tool from PATH, else where <c>dotnet tool install -g</c> puts it.</summary>
    public static string Find(string name, string install)
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(home, ".dotnet", "tools"))
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"--trace needs {name}: {install}");
    }

    /// <summary>Starts <paramref name="tool"/>; with <paramref name="readOutput"/> the caller reads its standard output.</summary>
    public static ToolProcess Start(string tool, IEnumerable<string> args, bool readOutput = false) => new(tool, args, readOutput);

    /// <summary>Waits for the tool to exit, at most <paramref name="limit"/>; fails unless it exited with 0.</summary>
    public async Task WaitAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(limit);
        await _process.WaitForExitAsync(stop.Token);
        if (_process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{_process.StartInfo.FileName} exited with {_process.ExitCode}: {Output.Trim()}");
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Append(object sender, DataReceivedEventArgs e)
    {
        lock (_output)
        {
            _output.AppendLine(e.Data);
        }
    }
}
