using System.Collections.Concurrent;
using ChatService.Privacy;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Privacy;

/// <summary>
/// The service with a short deletion lease, fast sweeps and backoffs, a known user-key secret, and a batch
/// observer (<see cref="Batches"/>) through which a test slows, refuses or interleaves with one user's batches.
/// </summary>
public sealed class DeletionFaultsFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const string Secret = "a-test-secret-for-user-keys-0123456789";

    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(3);

    internal static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(200);

    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromMilliseconds(800);

    internal ScriptedBatches Batches { get; } = new();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["DataDeletion:Lease"] = "00:00:03",
        ["DataDeletion:SweepInterval"] = "00:00:00.100",
        ["DataDeletion:PollInterval"] = "00:00:00.100",
        ["DataDeletion:RetryBackoff"] = "00:00:00.200",
        ["DataDeletion:MaxRetryBackoff"] = "00:00:00.800",
        ["DataDeletion:UserKeySecret"] = Secret,
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IDeletionBatchObserver>(Batches);

    /// <summary>Runs each user's script (by user key) on their batches; other users' batches go through untouched.</summary>
    internal sealed class ScriptedBatches : IDeletionBatchObserver
    {
        private readonly ConcurrentDictionary<string, Func<DeletionBatch, CancellationToken, Task>> _scripts = new(StringComparer.Ordinal);

        public void On(string userKey, Func<DeletionBatch, CancellationToken, Task> script) => _scripts[userKey] = script;

        public async ValueTask BeforeCommitAsync(DeletionBatch batch, CancellationToken cancellationToken)
        {
            if (_scripts.TryGetValue(batch.UserKey, out var script))
            {
                await script(batch, cancellationToken);
            }
        }
    }
}
