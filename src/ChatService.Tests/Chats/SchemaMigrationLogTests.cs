using ChatService.Resilience;
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

        // The backoff doubles from 1 s with ±20% jitter (the service's retry policy).
        Assert.Equal(3, entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            var delay = AssertLine(
                entries[i].Message,
                $"Cannot reach Spanner at 127.0.0.1:1 (emulator): Unavailable: Connection refused. Schema migration attempt {i + 1} failed; the service stays unready and retries in ");
            AssertJittered(TimeSpan.FromSeconds(1 << i), delay);
        }

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

        AssertJittered(TimeSpan.FromSeconds(1), AssertLine(entry.Message, "Schema migration attempt 1 failed; the service stays unready and retries in "));
        var failure = Assert.IsType<SpannerException>(entry.Exception);
        Assert.Equal(SpannerErrorCode.NotFound, failure.ErrorCode);
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == Unreachable);
    }

    private static async Task<Running> StartAsync(SpannerOptions options, TimeProvider clock, LogCapture logs)
    {
        options.SchemaWaitOnStart = TimeSpan.Zero;
        var loggers = new LoggerFactory([logs]);
        var database = SpannerDatabaseClient.Create(options.ToClientOptions());
        var retries = new RetryPolicyFactory(clock, Options.Create(new Polly.Telemetry.TelemetryOptions()));
        var migrator = new SchemaMigrator(Options.Create(options), database, clock, retries, loggers.CreateLogger<SchemaMigrator>());
        await migrator.StartAsync(Ct);
        return new Running(migrator, database, loggers);
    }

    /// <summary>Asserts the line is <paramref name="prefix"/> then a delay and a full stop; returns the delay.</summary>
    private static TimeSpan AssertLine(string message, string prefix)
    {
        Assert.StartsWith(prefix, message, StringComparison.Ordinal);
        Assert.EndsWith(".", message, StringComparison.Ordinal);
        return TimeSpan.Parse(message[prefix.Length..^1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void AssertJittered(TimeSpan expected, TimeSpan actual) =>
        Assert.InRange(actual, expected * 0.8, expected * 1.2);

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
