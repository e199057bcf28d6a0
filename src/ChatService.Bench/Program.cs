using ChatService.Bench.Infrastructure;
using ChatService.Bench.Reporting;
using ChatService.Bench.Scenarios;
using ChatService.Testing;

namespace ChatService.Bench;

/// <summary>
/// The load tool: starts the service as a child process against the local stack and measures one
/// scenario (see <see cref="BenchOptions.Usage"/>). Not a top-level program, so its entry type does
/// not clash with the service's public <c>Program</c>.
/// </summary>
internal static class BenchProgram
{
    private static readonly string[] AllScenarios = ["history-hot", "history-cold", "send", "streams", "chaos"];

    /// <summary>Scenarios that run only when named: <c>all</c> leaves them out (follow runs two service processes; prompt needs no stack).</summary>
    private static readonly string[] NamedOnly = ["health", "follow", "prompt"];

    public static async Task<int> Main(string[] args)
    {
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}\n\n{BenchOptions.Usage}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        var scenarios = options.Scenario == "all" ? AllScenarios : [options.Scenario];
        if (scenarios.Any(s => !AllScenarios.Contains(s) && !NamedOnly.Contains(s)))
        {
            await Console.Error.WriteLineAsync($"error: unknown scenario '{options.Scenario}'\n\n{BenchOptions.Usage}");
            return 2;
        }

        var machine = MachineInfo.Collect();
        Console.WriteLine($"machine: {machine}");
        foreach (var scenario in scenarios)
        {
            var report = new BenchReport(scenario, options, machine);
            try
            {
                await RunAsync(scenario, options, report, cancel.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                report.Notes.Add($"the scenario failed: {ex.GetType().Name}: {ex.Message}");
                await report.WriteAsync();
                await Console.Error.WriteLineAsync(ex.ToString());
                return 1;
            }

            await report.WriteAsync();
        }

        return 0;
    }

    private static async Task RunAsync(string scenario, BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        if (scenario == "prompt")
        {
            // In process, no stack: nothing to start.
            await PromptScenario.RunAsync(options, report, cancellationToken);
            return;
        }

        if (!options.FreshEmulator)
        {
            report.Figure("Spanner emulator", $"shared, {BenchStack.Endpoints.EmulatorHost}");
            await RunScenarioAsync(scenario, options, report, cancellationToken);
            return;
        }

        // The shared emulator's strong reads slow down with its history: a fresh one keeps numbers comparable.
        var shared = BenchStack.Endpoints;
        await using var emulator = await EmulatorProcess.StartAsync(cancellationToken: cancellationToken);
        BenchStack.Endpoints = shared with { EmulatorPort = emulator.Port };
        report.Figure("Spanner emulator", $"fresh, started for this scenario on {BenchStack.Endpoints.EmulatorHost}");
        try
        {
            await RunScenarioAsync(scenario, options, report, cancellationToken);
        }
        finally
        {
            BenchStack.Endpoints = shared;
        }
    }

    private static Task RunScenarioAsync(string scenario, BenchOptions options, BenchReport report, CancellationToken cancellationToken) => scenario switch
    {
        "history-hot" => HistoryScenario.RunAsync(options, report, warmCache: true, cancellationToken),
        "history-cold" => HistoryScenario.RunAsync(options, report, warmCache: false, cancellationToken),
        "send" => SendScenario.RunAsync(options, report, cancellationToken),
        "streams" => StreamsScenario.RunAsync(options, report, cancellationToken),
        "chaos" => ChaosScenario.RunAsync(options, report, cancellationToken),
        "health" => HealthScenario.RunAsync(options, report, cancellationToken),
        "follow" => FollowScenario.RunAsync(options, report, cancellationToken),
        _ => throw new ArgumentException($"unknown scenario '{scenario}'"),
    };
}
