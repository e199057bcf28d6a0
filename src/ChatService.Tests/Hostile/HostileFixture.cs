using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChatService.Tests.Hostile;

/// <summary>
/// The in-process service for the hostile suite, collecting every error it logs. Leases and the
/// recovery sweep are short, so a reply whose send was cut off by a deadline right after it
/// committed (owed, never queued) is recovered within seconds; a hanging backend times out fast.
/// </summary>
public sealed class HostileFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public ErrorLogCollector Errors { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:sim:FirstTokenTimeout"] = "00:00:01",
        ["Chat:ReplyLease"] = "00:00:03",
        ["Dispatch:SweepInterval"] = "00:00:00.300",

        // The summary job commits in the background, long after the reply that triggered it: the phases
        // that must leave every table as it was would see it. Its own tests cover it (SummaryJobTests).
        ["Summary:Enabled"] = "false",

        // Small enough that a hostile file of a few lines passes it (import-too-many-candidates).
        ["Import:MaxCandidates"] = "64",

        // High enough that no hostile import is ever refused for capacity (RESOURCE_EXHAUSTED) instead of
        // meeting the check the case is about: the import bounds have their own tests (ImportLimitsTests).
        ["Import:MaxConcurrent"] = "100",
        ["Import:MaxConcurrentPerUser"] = "100",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Errors);
}
