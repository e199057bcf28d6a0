using ChatService.Testing;

namespace ChatService.Bench.Infrastructure;

/// <summary>The service as the bench runs it: a child process (the Release <c>ChatService.dll</c> copied next to the bench) on a bench database.</summary>
internal static class BenchService
{
    /// <summary>The host's graceful shutdown on dispose (replies in flight get <c>Dispatch:ShutdownGrace</c>), then SIGKILL.</summary>
    private static readonly TimeSpan DisposeGrace = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Production, except that each load user sends in a closed loop far faster than a person: the bench
    /// measures the service, not its per-user limits.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string> UnlimitedUsers = new Dictionary<string, string>
    {
        ["Limits:SendsPerMinute"] = "1000000",
        ["Limits:SendBurst"] = "1000000",
        ["Limits:ConcurrentRepliesPerUser"] = "1000000",
        // Production refuses to start on the public development key of data deletions; a bench run's own
        // (every service it starts shares it) stands in for the deployment's Secret.
        ["DataDeletion:UserKeySecret"] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };

    /// <summary>Starts the service on <paramref name="database"/> with <paramref name="settings"/> on top, and waits until it is ready.</summary>
    public static Task<ServiceProcess> StartAsync(IReadOnlyDictionary<string, string> settings, BenchDatabase database, CancellationToken cancellationToken)
    {
        var all = database.ServiceSettings;
        foreach (var (key, value) in UnlimitedUsers.Concat(settings))
        {
            all[key] = value;
        }

        return ServiceProcess.StartAsync(
            new ServiceProcessOptions { EnvironmentName = "Production", Settings = all, DisposeGrace = DisposeGrace }, cancellationToken);
    }
}
