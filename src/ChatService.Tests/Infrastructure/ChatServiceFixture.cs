using System.Globalization;
using ChatService.Api.V1;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Spanner.Client;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// The service hosted in process against the real emulator, on a database of its own that is
/// dropped afterwards. Tests call it over gRPC and look at the emulator's tables directly.
/// </summary>
public class ChatServiceFixture(LocalStack stack) : IAsyncLifetime
{
    private WebApplicationFactory<Program>? _factory;
    private GrpcChannel? _channel;

    public string DatabaseId { get; } = "t" + Guid.NewGuid().ToString("N")[..12];

    public SpannerClientOptions SpannerOptions => new()
    {
        ProjectId = stack.ProjectId,
        InstanceId = stack.InstanceId,
        DatabaseId = DatabaseId,
        EmulatorHost = stack.EmulatorHost,
    };

    /// <summary>Direct access to the service's database, for checking what was stored.</summary>
    public SpannerDatabaseClient Database { get; private set; } = null!;

    public WebApplicationFactory<Program> Factory => _factory!;

    public LocalStack Stack => stack;

    /// <summary>
    /// Settings on top of appsettings. By default the simulated backend is fast, so replies
    /// settle in well under a second.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => FastSimulatedBackend;

    /// <summary>Service registrations on top of the service's own (they run after them, so they can replace one).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>A service of the hosted app, e.g. its Spanner client (for its statistics).</summary>
    public T Service<T>()
        where T : notnull => _factory!.Services.GetRequiredService<T>();

    /// <summary>Waits for the chat-count folds CreateChat scheduled on this service (they run after its commit).</summary>
    public async Task ChatCountsFoldedAsync(CancellationToken cancellationToken)
    {
        var folder = Service<ChatService.Storage.ChatCountFolder>();
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (folder.InFlight > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the chat-count folds did not finish in 3 minutes");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// The default route on a simulated backend paced as given: every reply is exactly
    /// <paramref name="tokens"/> tokens, <paramref name="timeToFirstToken"/> then <paramref name="tokensPerSecond"/>.
    /// </summary>
    public static Dictionary<string, string> PacedSimulatedBackend(TimeSpan timeToFirstToken, int tokensPerSecond, int tokens) => new()
    {
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = timeToFirstToken.ToString("c", CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:TokensPerSecond"] = tokensPerSecond.ToString(CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:MinTokens"] = tokens.ToString(CultureInfo.InvariantCulture),
        ["Inference:Backends:sim:MaxTokens"] = tokens.ToString(CultureInfo.InvariantCulture),
        ["Inference:Routes:default:0"] = "sim",
    };

    public static readonly IReadOnlyDictionary<string, string> FastSimulatedBackend = new Dictionary<string, string>
    {
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:Model"] = "sim-fast",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.010",
        ["Inference:Backends:sim:TokensPerSecond"] = "500",
        ["Inference:Routes:default:0"] = "sim",
    };

    /// <summary>
    /// Per-user limits far above anything a test does, applied before <see cref="Settings"/>: most
    /// tests send as one user much faster than a person would. Limit tests set their own.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> GenerousLimits = new Dictionary<string, string>
    {
        ["Limits:SendsPerMinute"] = "1000000",
        ["Limits:SendBurst"] = "1000000",
        ["Limits:ConcurrentRepliesPerUser"] = "1000000",
        // The catalog backfill's rounds read Spanner, which tests that count reads must not see
        // (CatalogBackfillFixture runs them every second).
        ["Chat:CatalogBackfillInterval"] = "01:00:00",
    };

    public virtual async ValueTask InitializeAsync()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            builder.UseSetting("Spanner:EmulatorHost", stack.EmulatorHost);
            builder.UseSetting("Spanner:ProjectId", stack.ProjectId);
            builder.UseSetting("Spanner:InstanceId", stack.InstanceId);
            builder.UseSetting("Spanner:DatabaseId", DatabaseId);
            builder.UseSetting("Redis:Endpoints", stack.RedisConfiguration);
            foreach (var (key, value) in GenerousLimits.Concat(Settings))
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(ConfigureServices);
        });
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = _factory.Server.CreateHandler(),
        });
        Database = SpannerDatabaseClient.Create(SpannerOptions);
        await Database.WarmUpAsync();
    }

    /// <summary>A client that calls as <paramref name="userId"/> (the local-mode x-user-id header).</summary>
    public ChatService.Api.V1.ChatService.ChatServiceClient Client(string? userId) =>
        new(userId is null ? _channel!.CreateCallInvoker() : _channel!.Intercept(headers =>
        {
            headers.Add("x-user-id", userId);
            return headers;
        }));

    public CallInvoker Invoker => _channel!.CreateCallInvoker();

    /// <summary>
    /// Ages a request's ChatOperations record by 8 days, past its 7-day retention, as the row deletion policy
    /// (which runs when it likes) may not yet have removed it.
    /// </summary>
    public Task AgeOperationRecordAsync(string chatId, string requestId, CancellationToken cancellationToken) =>
        Database.RunInTransactionAsync(async (tx, ct) => await tx.ExecuteDmlAsync(
            new SpannerStatement("UPDATE ChatOperations SET CreateTime = TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 8 DAY) WHERE ChatId = @c AND RequestId = @r")
                .Add("c", chatId).Add("r", requestId), ct), cancellationToken);

    public async Task<long> CountAsync(string sql, params (string Name, object Value)[] parameters)
    {
        var statement = new SpannerStatement(sql);
        foreach (var (name, value) in parameters)
        {
            statement.Add(name, value);
        }

        var rows = await Database.QueryListAsync(statement);
        return rows[0].Get<long>(0);
    }

    /// <summary>Row counts of every table, to prove a rejected request wrote nothing.</summary>
    public async Task<string> SnapshotAsync()
    {
        var counts = new List<string>();
        foreach (var table in new[] { "Characters", "Chats", "Turns", "Candidates", "ModelCalls", "CandidatePrompts", "Personas", "PersonaOverrides", "CatalogTerms", "CharacterChatCounts" })
        {
            counts.Add($"{table}={await CountAsync($"SELECT COUNT(*) FROM {table}")}");
        }

        return string.Join(", ", counts);
    }

    public virtual async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }

        await Database.DisposeAsync();
        await using var admin = SpannerAdminClient.Create(SpannerOptions);
        await admin.DropDatabaseAsync();
    }
}
