using System.Net;
using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Telemetry;

/// <summary>The Prometheus scrape endpoint of the real service process, after real exchanges.</summary>
public sealed class MetricsEndpointTests(LocalStack stack) : IAsyncLifetime
{
    /// <summary>The metrics the issue asks for, by their Prometheus names (see README "Observability").</summary>
    public static readonly string[] RequiredMetrics =
    [
        "http_server_request_duration_seconds_bucket", // RPC latency, by route (= gRPC method)
        "chat_dispatch_queue_depth",
        "chat_inference_time_to_first_token_seconds_bucket",
        "chat_reply_time_to_first_token_seconds_bucket",
        "chat_inference_tokens_total",
        "chat_inference_tokens_per_second_bucket",
        "chat_cache_hits_total",
        "chat_cache_misses_total",
        "spanner_client_retries_total",
        "spanner_client_aborts_total",
        "spanner_client_commits_total",
        "spanner_client_reads_total",
        "chat_replies_owed",
    ];

    /// <summary>ASP.NET Core's per-request diagnostic instruments, dropped unless Telemetry:FrameworkDiagnosticMetrics is on.</summary>
    public static readonly string[] DiagnosticMetrics =
    [
        "aspnetcore_routing_match_attempts",
        "aspnetcore_memory_pool_rented",
        "aspnetcore_memory_pool_pooled",
        "kestrel_queued_requests",
    ];

    private readonly ProcessDatabase _database = new(stack, "m");
    private ServiceProcess _service = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _service = await ServiceProcess.StartAsync(_database.Settings("replica-m", ChatServiceFixture.FastSimulatedBackend), Ct);

    [Fact]
    public async Task Metrics_LeaveOutThePerRequestDiagnostics_UnlessAskedFor()
    {
        await ExchangeAsync(_service);
        var metrics = await ScrapeAsync(_service);

        Assert.Contains("kestrel_active_connections", metrics);
        // Authentication's metrics stay: they count refused callers.
        Assert.Contains("aspnetcore_authentication_", metrics);
        Assert.All(DiagnosticMetrics, name => Assert.DoesNotContain(name, metrics));

        await using var diagnosing = await ServiceProcess.StartAsync(_database.Settings("replica-m2", new Dictionary<string, string>(ChatServiceFixture.FastSimulatedBackend)
        {
            ["Telemetry:FrameworkDiagnosticMetrics"] = "true",
        }), Ct);
        await ExchangeAsync(diagnosing);
        var all = await ScrapeAsync(diagnosing);
        Assert.All(DiagnosticMetrics, name => Assert.Contains(name, all));
    }

    private static async Task ExchangeAsync(ServiceProcess service)
    {
        var client = service.Client(TestUsers.New());
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
        await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
    }

    private static async Task<string> ScrapeAsync(ServiceProcess service)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{service.HttpPort}/metrics", Ct);
    }

    [Fact]
    public async Task Metrics_AfterExchanges_ListTheRequiredMetrics()
    {
        var client = _service.Client(TestUsers.New());
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        // Two exchanges: the first reply's window read misses the cache, the second one hits it.
        for (var i = 0; i < 2; i++)
        {
            using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = $"message {i}" }, cancellationToken: Ct);
            var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
            Assert.NotNull(events[^1].Completed);
        }

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{_service.HttpPort}/metrics", Ct);

        var missing = RequiredMetrics.Where(name => !metrics.Contains(name + "{", StringComparison.Ordinal) && !metrics.Contains(name + " ", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"missing from /metrics: {string.Join(", ", missing)}\n{metrics}");
        Assert.Contains("http_route=\"/chat.v1.ChatService/SendMessage\"", metrics);
        Assert.Matches(@"(?m)^spanner_client_commits_total(\{[^}]*\})? [1-9]", metrics);
        Assert.Matches(@"(?m)^chat_cache_hits_total(\{[^}]*\})? [1-9]", metrics);
    }

    [Fact]
    public async Task Metrics_AreNotServedOnTheGrpcPort()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_service.GrpcPort}/metrics")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var onHttpPort = await http.GetAsync($"http://127.0.0.1:{_service.HttpPort}/metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, onHttpPort.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }

        await _database.DisposeAsync();
    }
}
