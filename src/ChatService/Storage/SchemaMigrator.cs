using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Applies the versioned DDL files at start, before the service reports ready. Idempotent and
/// safe to run from several replicas at once: applied versions are recorded in
/// <c>SchemaMigrations</c>, and statements whose object already exists are skipped, so a replica
/// that loses the race re-reads the schema and finds nothing left to do. Start waits for it up to
/// <see cref="SpannerOptions.SchemaWaitOnStart"/>; a Spanner that is unreachable or slow (a long
/// schema change) does not stop the process from starting: it serves liveness, stays unready, and
/// the migration keeps retrying in the background.
/// </summary>
internal sealed partial class SchemaMigrator(
    IOptions<SpannerOptions> options,
    SpannerDatabaseClient database,
    TimeProvider timeProvider,
    ILogger<SchemaMigrator> logger) : IHostedService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private const string MigrationsTable =
        "CREATE TABLE SchemaMigrations (Version INT64 NOT NULL, Name STRING(200) NOT NULL, " +
        "AppliedTime TIMESTAMP NOT NULL OPTIONS (allow_commit_timestamp = true)) PRIMARY KEY (Version)";

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private Task _run = Task.CompletedTask;
    private volatile string? _lastError;

    /// <summary>Completes once the schema is current (and the session pool warm); cancelled if the service stops first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>Why the last migration attempt failed, while the schema is not applied yet.</summary>
    public string? LastError => _lastError;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _run = MigrateUntilAppliedAsync(_stopping.Token);
        var wait = options.Value.SchemaWaitOnStart;
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await _ready.Task.WaitAsync(wait, timeProvider, cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.StartingWithoutSchema(logger, wait);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _run.WaitAsync(cancellationToken);
    }

    /// <summary>Migrates, retrying with backoff (1 s doubling to 30 s) until it succeeds or the service stops.</summary>
    private async Task MigrateUntilAppliedAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(stopping);
                await database.WarmUpAsync(stopping);
                _lastError = null;
                _ready.TrySetResult();
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                if (SpannerFailures.IsUnreachable(ex))
                {
                    // One line per attempt: where the service tried, why it failed, when it tries again.
                    var endpoint = options.Value.EndpointDescription;
                    var reason = SpannerFailures.Reason((SpannerException)ex);
                    _lastError = $"Spanner at {endpoint} is unreachable ({reason})";
                    Log.SpannerUnreachable(logger, endpoint, reason, attempt, delay);
                }
                else
                {
                    _lastError = ex.Message;
                    Log.MigrationFailed(logger, attempt, delay, ex);
                }
            }
            catch (Exception)
            {
                _ready.TrySetCanceled(stopping);
                return;
            }

            try
            {
                await Task.Delay(delay, timeProvider, stopping);
            }
            catch (OperationCanceledException)
            {
                _ready.TrySetCanceled(stopping);
                return;
            }

            delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var spanner = options.Value;
        await using var admin = SpannerAdminClient.Create(spanner.ToClientOptions());
        if (spanner.ShouldCreateIfMissing)
        {
            await admin.EnsureInstanceAsync(cancellationToken: cancellationToken);
            await admin.EnsureDatabaseAsync(cancellationToken);
        }

        const int maxAttempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ApplyPendingAsync(admin, cancellationToken);
                return;
            }
            catch (SpannerException ex) when (attempt < maxAttempts && ex.Code is Grpc.Core.StatusCode.FailedPrecondition or Grpc.Core.StatusCode.AlreadyExists or Grpc.Core.StatusCode.Aborted)
            {
                // Another replica changed the schema concurrently; re-read it and try again.
                Log.SchemaRaceRetry(logger, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), timeProvider, cancellationToken);
            }
        }
    }

    private async Task ApplyPendingAsync(SpannerAdminClient admin, CancellationToken cancellationToken)
    {
        var existing = ExistingObjects(await admin.GetDdlAsync(cancellationToken));
        if (!existing.Contains("SchemaMigrations"))
        {
            await admin.UpdateDdlAsync([MigrationsTable], cancellationToken);
        }

        var applied = (await database.QueryListAsync(new SpannerStatement("SELECT Version FROM SchemaMigrations"), cancellationToken: cancellationToken))
            .Select(r => r.Get<long>(0))
            .ToHashSet();

        foreach (var script in SchemaScript.LoadAll().Where(s => !applied.Contains(s.Version)))
        {
            var pending = script.Statements.Where(s => ObjectName(s) is not { } name || !existing.Contains(name)).ToList();
            if (pending.Count > 0)
            {
                await admin.UpdateDdlAsync(pending, cancellationToken);
            }

            await database.WriteAsync(
                [SpannerMutation.InsertOrUpdate("SchemaMigrations")
                    .Set("Version", script.Version)
                    .Set("Name", script.Name)
                    .Set("AppliedTime", SpannerCommitTimestamp.Value)],
                cancellationToken);
            Log.SchemaApplied(logger, script.Version, script.Name, pending.Count);
        }
    }

    private static HashSet<string> ExistingObjects(IEnumerable<string> ddl) =>
        ddl.Select(ObjectName).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The table or index a CREATE statement makes; null for other statements.</summary>
    internal static string? ObjectName(string statement)
    {
        var match = CreateStatement().Match(statement);
        return match.Success ? match.Groups["name"].Value : null;
    }

    [GeneratedRegex(@"^\s*CREATE\s+(?:UNIQUE\s+)?(?:NULL_FILTERED\s+)?(?:TABLE|INDEX)\s+`?(?<name>\w+)`?", RegexOptions.IgnoreCase)]
    private static partial Regex CreateStatement();

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Information, "Applied schema version {Version} ({Name}): {Statements} statement(s).")]
        public static partial void SchemaApplied(ILogger logger, long version, string name, int statements);

        [LoggerMessage(1002, LogLevel.Warning, "Schema changed concurrently (attempt {Attempt}): {Message}. Retrying.")]
        public static partial void SchemaRaceRetry(ILogger logger, int attempt, string message);

        [LoggerMessage(1003, LogLevel.Error, "Schema migration attempt {Attempt} failed; the service stays unready and retries in {Delay}.")]
        public static partial void MigrationFailed(ILogger logger, int attempt, TimeSpan delay, Exception exception);

        [LoggerMessage(1005, LogLevel.Error, "Cannot reach Spanner at {Endpoint}: {Reason}. Schema migration attempt {Attempt} failed; the service stays unready and retries in {Delay}.")]
        public static partial void SpannerUnreachable(ILogger logger, string endpoint, string reason, int attempt, TimeSpan delay);

        [LoggerMessage(1004, LogLevel.Warning, "The schema is not applied after {Wait}; starting unready while the migration goes on.")]
        public static partial void StartingWithoutSchema(ILogger logger, TimeSpan wait);
    }
}
