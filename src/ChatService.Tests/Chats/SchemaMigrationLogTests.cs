using ChatService.Storage;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Spanner.Client;

namespace ChatService.Tests.Chats;

/// <summary>What the schema migration logs while it cannot apply the schema at start.</summary>
public sealed class SchemaMigrationLogTests(LocalStack stack)
{
    private const int Unreachable = 1005;
    private const int Failed = 1003;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SpannerUnreachable_LogsOneLinePerBackoffStep_NamingTheEndpointAttemptAndDelay_WithoutAStackTrace()
    {
        var logs = new LogCapture();
        var clock = new FakeTimeProvider();
        await using var migrator = await StartAsync(new SpannerOptions { EmulatorHost = "127.0.0.1:1", DatabaseId = "unreachable" }, clock, logs);

        var entries = await ClockPump.RunAsync(clock, () => WaitForAsync(logs, Unreachable, count: 3), step: TimeSpan.FromMilliseconds(250), limit: TimeSpan.FromMinutes(1));

        Assert.Equal(
        [
            "Cannot reach Spanner at 127.0.0.1:1 (emulator): Unavailable: Connection refused. Schema migration attempt 1 failed; the service stays unready and retries in 00:00:01.",
            "Cannot reach Spanner at 127.0.0.1:1 (emulator): Unavailable: Connection refused. Schema migration attempt 2 failed; the service stays unready and retries in 00:00:02.",
            "Cannot reach Spanner at 127.0.0.1:1 (emulator): Unavailable: Connection refused. Schema migration attempt 3 failed; the service stays unready and retries in 00:00:04.",
        ], entries.Select(e => e.Message));
        Assert.All(entries, e => Assert.Null(e.Exception));
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == Failed);
        Assert.Equal("Spanner at 127.0.0.1:1 (emulator) is unreachable (Unavailable: Connection refused)", migrator.Value.LastError);
    }

    [Fact]
    public void CloudSpanner_IsNamedByTheEndpointsHostAndPort()
    {
        var cloud = new SpannerOptions { EmulatorHost = "", Endpoint = "https://us-central1-spanner.googleapis.com" };

        // The emulator setting wins over SPANNER_EMULATOR_HOST only when set; the tests' environment may hold one.
        Assert.Equal(
            Environment.GetEnvironmentVariable("SPANNER_EMULATOR_HOST") is { Length: > 0 } host ? $"{host} (emulator)" : "us-central1-spanner.googleapis.com:443",
            cloud.EndpointDescription);
    }

    [Fact]
    public async Task AnUnexpectedFailure_KeepsTheException()
    {
        var logs = new LogCapture();
        // The emulator answers, but the database is missing and may not be created: NOT_FOUND is no connection failure.
        await using var migrator = await StartAsync(
            new SpannerOptions
            {
                EmulatorHost = stack.EmulatorHost,
                ProjectId = stack.ProjectId,
                InstanceId = stack.InstanceId,
                DatabaseId = "missing" + Guid.NewGuid().ToString("N")[..8],
                CreateIfMissing = false,
            },
            TimeProvider.System,
            logs);

        var entry = Assert.Single(await WaitForAsync(logs, Failed, count: 1));

        Assert.Equal("Schema migration attempt 1 failed; the service stays unready and retries in 00:00:01.", entry.Message);
        var failure = Assert.IsType<SpannerException>(entry.Exception);
        Assert.Equal(Grpc.Core.StatusCode.NotFound, failure.Code);
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == Unreachable);
    }

    private static async Task<Running> StartAsync(SpannerOptions options, TimeProvider clock, LogCapture logs)
    {
        options.SchemaWaitOnStart = TimeSpan.Zero;
        var loggers = new LoggerFactory([logs]);
        var database = SpannerDatabaseClient.Create(options.ToClientOptions());
        var migrator = new SchemaMigrator(Options.Create(options), database, clock, loggers.CreateLogger<SchemaMigrator>());
        await migrator.StartAsync(Ct);
        return new Running(migrator, database, loggers);
    }

    private static async Task<List<LogCapture.Entry>> WaitForAsync(LogCapture logs, int eventId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var entries = logs.Entries.Where(e => e.EventId.Id == eventId).ToList();
            if (entries.Count >= count)
            {
                return entries[..count];
            }

            Assert.True(DateTime.UtcNow < deadline, $"{entries.Count} of {count} log entries {eventId} within 30 s: {string.Join(" | ", logs.Entries.Select(e => e.Message))}");
            await Task.Delay(20, Ct);
        }
    }

    /// <summary>A started migrator and what it uses; stopping it ends its retries.</summary>
    private sealed record Running(SchemaMigrator Value, SpannerDatabaseClient Database, LoggerFactory Loggers) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Value.StopAsync(CancellationToken.None);
            await Database.DisposeAsync();
            Loggers.Dispose();
        }
    }
}
