using System.Text.RegularExpressions;
using ChatService.Resilience;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Applies the versioned DDL files at start, before the service reports ready. Work on the data a
/// version needs is never done here, where it would hold up readiness on every replica: it runs in
/// the background after it (version 7's catalog backfill, <see cref="CatalogBackfillJob"/>). Idempotent and
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
    RetryPolicyFactory retries,
    ILogger<SchemaMigrator> logger) : IHostedService
{
    // Until the service stops, whatever the failure: a replica without its schema has nothing else
    // to do, and an operator fixing Spanner (or its permissions) should not have to restart it.
    private readonly RetryPolicy _migrationRetry = retries.Create(new RetryPolicyOptions
    {
        Name = "schema-migration",
        ShouldRetry = _ => true,
        ServerDelay = SpannerErrors.ServerDelay,
        InitialDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(30),
    });

    // Another replica changing the schema at the same time: re-reading it settles the race within a few tries.
    private readonly RetryPolicy _schemaRaceRetry = retries.Create(new RetryPolicyOptions
    {
        Name = "schema-ddl",
        ShouldRetry = ex => ex is SpannerException { ErrorCode: SpannerErrorCode.FailedPrecondition or SpannerErrorCode.AlreadyExists or SpannerErrorCode.Aborted },
        InitialDelay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(2),
        ServerDelay = SpannerErrors.ServerDelay,
        MaxAttempts = 5,
    });

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

    /// <summary>Migrates, retrying with backoff (1 s doubling to 30 s, jittered) until it succeeds or the service stops.</summary>
    private async Task MigrateUntilAppliedAsync(CancellationToken stopping)
    {
        var endpoint = options.Value.EndpointDescription;
        try
        {
            await _migrationRetry.ExecuteAsync(
                async ct =>
                {
                    await MigrateAsync(ct);
                    await database.WarmUpAsync(ct);
                },
                retry =>
                {
                    if (SpannerErrors.IsUnreachable(retry.Failure))
                    {
                        // One line per attempt: where the service tried, why it failed, when it tries again.
                        var reason = SpannerErrors.Reason((SpannerException)retry.Failure);
                        _lastError = $"Spanner at {endpoint} is unreachable ({reason})";
                        Log.SpannerUnreachable(logger, endpoint, reason, retry.Attempt, retry.Delay);
                    }
                    else
                    {
                        _lastError = retry.Failure.Message;
                        Log.MigrationFailed(logger, retry.Attempt, retry.Delay, retry.Failure);
                    }
                },
                stopping);
            _lastError = null;
            _ready.TrySetResult();
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            _ready.TrySetCanceled(stopping);
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

        // Another replica changed the schema concurrently; each attempt re-reads it.
        await _schemaRaceRetry.ExecuteAsync(
            ct => ApplyPendingAsync(admin, ct),
            retry => Log.SchemaRaceRetry(logger, retry.Attempt, retry.Failure.Message),
            cancellationToken);
    }

    private async Task ApplyPendingAsync(SpannerAdminClient admin, CancellationToken cancellationToken)
    {
        var ddl = (await admin.GetDdlAsync(cancellationToken)).ToList();
        var existing = ExistingObjects(ddl);
        if (!existing.Contains("SchemaMigrations"))
        {
            await admin.UpdateDdlAsync([MigrationsTable], cancellationToken);
        }

        var applied = (await database.QueryListAsync(new SpannerStatement("SELECT Version FROM SchemaMigrations"), cancellationToken: cancellationToken))
            .Select(r => r.Get<long>(0))
            .ToHashSet();

        foreach (var script in SchemaScript.LoadAll().Where(s => !applied.Contains(s.Version)))
        {
            // A version whose DDL was applied but not recorded (its replica stopped in between) is applied
            // again: what exists is left out, or Spanner would refuse the whole batch every time.
            var pending = script.Statements
                .Where(s => ObjectName(s) is { } name ? !existing.Contains(name) : !AlreadyAltered(s, ddl))
                .ToList();
            if (pending.Count > 0)
            {
                await admin.UpdateDdlAsync(pending, cancellationToken);
            }

            await RecordAsync(script, pending.Count, cancellationToken);
        }
    }

    private async Task RecordAsync(SchemaScript script, int statements, CancellationToken cancellationToken)
    {
        await database.WriteAsync(
            [SpannerMutation.InsertOrUpdate("SchemaMigrations")
                .Set("Version", script.Version)
                .Set("Name", script.Name)
                .Set("AppliedTime", SpannerCommitTimestamp.Value)],
            cancellationToken);
        Log.SchemaApplied(logger, script.Version, script.Name, statements);
    }

    private static HashSet<string> ExistingObjects(IEnumerable<string> ddl) =>
        ddl.Select(ObjectName).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether an <c>ALTER TABLE … ADD COLUMN</c> or <c>ADD ROW DELETION POLICY</c> is already in the schema
    /// <paramref name="ddl"/> describes (GetDatabaseDdl gives each table as one CREATE TABLE statement with
    /// its columns and policy). Other statements are taken as not applied.
    /// </summary>
    internal static bool AlreadyAltered(string statement, IReadOnlyList<string> ddl)
    {
        var alter = AlterStatement().Match(statement);
        if (!alter.Success)
        {
            return false;
        }

        var table = ddl.FirstOrDefault(d => ObjectName(d) is { } name && string.Equals(name, alter.Groups["table"].Value, StringComparison.OrdinalIgnoreCase)
            && d.TrimStart().StartsWith("CREATE TABLE", StringComparison.OrdinalIgnoreCase));
        if (table is null)
        {
            return false;
        }

        return alter.Groups["column"].Success
            ? Regex.IsMatch(table, $@"[(,]\s*`?{Regex.Escape(alter.Groups["column"].Value)}`?\s", RegexOptions.IgnoreCase)
            : table.Contains("ROW DELETION POLICY", StringComparison.OrdinalIgnoreCase);
    }

    [GeneratedRegex(@"^\s*ALTER\s+TABLE\s+`?(?<table>\w+)`?\s+ADD\s+(?:COLUMN\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(?<column>\w+)`?|ROW\s+DELETION\s+POLICY)", RegexOptions.IgnoreCase)]
    private static partial Regex AlterStatement();

    /// <summary>The table or index a CREATE statement makes; null for other statements.</summary>
    internal static string? ObjectName(string statement)
    {
        var match = CreateStatement().Match(statement);
        return match.Success ? match.Groups["name"].Value : null;
    }

    [GeneratedRegex(@"^\s*CREATE\s+(?:UNIQUE\s+)?(?:NULL_FILTERED\s+)?(?:SEARCH\s+)?(?:TABLE|INDEX)\s+`?(?<name>\w+)`?", RegexOptions.IgnoreCase)]
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
