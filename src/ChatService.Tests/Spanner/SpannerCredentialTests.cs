using System.Net;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Spanner.Client;
using Spanner.Client.Internal;
using Admin = Spanner.Client.Admin.Database.V1;

namespace ChatService.Tests.Spanner;

/// <summary>
/// The production credential path (call credentials on the client's own channel), on the wire against a real
/// gRPC server standing in for Spanner. TLS cannot be had locally, so the client talks plaintext to loopback,
/// which it allows for exactly this; everything else is what a pod on GKE does.
/// </summary>
public sealed class SpannerCredentialTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryCall_CarriesTheCredentialsBearerToken()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        var tokens = new FakeTokenSource(_ => Task.FromResult("token-abc"));
        var client = SpannerDatabaseClient.Create(Options(host, tokens));

        await client.WarmUpAsync(Ct);
        await client.RunInTransactionAsync(async (tx, ct) =>
        {
            await tx.ExecuteDmlAsync(new SpannerStatement("UPDATE T SET V = 1 WHERE TRUE"), ct);
            return await tx.QueryListAsync(new SpannerStatement("SELECT 1"), ct);
        }, Ct);
        await client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);
        await client.DisposeAsync();

        var calls = host.Server.Calls.ToList();
        Assert.Superset(
            new HashSet<string> { "BatchCreateSessions", "BeginTransaction", "ExecuteSql", "ExecuteStreamingSql", "Commit", "DeleteSession" },
            calls.Select(c => c.Method).ToHashSet());
        Assert.All(calls, c => Assert.Equal("Bearer token-abc", c.Headers.GetValue("authorization")));
        // Asked on every call, so a credential's refresh takes effect at once; it is told which service the token is for.
        Assert.Equal(calls.Count, tokens.Requests);
        Assert.All(tokens.AuthUris, uri => Assert.Equal($"{host.Endpoint}/google.spanner.v1.Spanner", uri));
    }

    [Fact]
    public async Task AdminCalls_CarryTheBearerToken()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        host.Server.Handle<Admin.GetDatabaseDdlRequest>("GetDatabaseDdl", _ => new Admin.GetDatabaseDdlResponse { Statements = { "CREATE TABLE T (K INT64) PRIMARY KEY (K)" } });
        await using var admin = SpannerAdminClient.Create(Options(host, new FakeTokenSource(_ => Task.FromResult("admin-token"))));

        var ddl = await admin.GetDdlAsync(Ct);

        Assert.Single(ddl);
        Assert.Equal("Bearer admin-token", host.Server.CallsTo("GetDatabaseDdl").Single().Headers.GetValue("authorization"));
    }

    [Fact]
    public async Task ExpiredToken_FromTheMetadataServer_IsRefreshedAndTheNewOneSent()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        await using var metadata = await FakeMetadataServer.StartAsync(Ct);
        var clock = new FakeGoogleClock(DateTime.UtcNow);
        // What Workload Identity gives a pod: the metadata server's token for the bound Google service account.
        var credential = new ComputeCredential(new ComputeCredential.Initializer(metadata.TokenUrl) { Clock = clock });
        await using var client = SpannerDatabaseClient.Create(Options(host, credential));

        await client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);
        await client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);
        clock.Advance(metadata.ExpiresIn + TimeSpan.FromMinutes(1));
        await client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);

        var queries = host.Server.CallsTo("ExecuteStreamingSql").Select(c => c.Headers.GetValue("authorization")).ToList();
        Assert.Equal(["Bearer meta-token-1", "Bearer meta-token-1", "Bearer meta-token-2"], queries);
        Assert.Equal("Bearer meta-token-1", host.Server.CallsTo("BatchCreateSessions").First().Headers.GetValue("authorization"));
        Assert.Equal(["Google", "Google"], metadata.TokenRequests);
    }

    [Fact]
    public async Task NoCredentialConfigured_UsesApplicationDefaultCredentials_FromTheMetadataServer()
    {
        var wellKnownFile = Path.Combine(
            Environment.GetEnvironmentVariable("CLOUDSDK_CONFIG") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "gcloud"),
            "application_default_credentials.json");
        if (Environment.GetEnvironmentVariable("GOOGLE_APPLICATION_CREDENTIALS") is not null || File.Exists(wellKnownFile))
        {
            Assert.Skip("This machine has real Application Default Credentials, which take precedence over the metadata server.");
        }

        await using var host = await FakeSpannerHost.StartAsync(Ct);
        await using var metadata = await FakeMetadataServer.StartAsync(Ct);
        // ADC's last resort is the metadata server; GCE_METADATA_HOST moves it, as the Google libraries document.
        // No other test in this process uses ADC.
        Environment.SetEnvironmentVariable("GCE_METADATA_HOST", metadata.Host);
        try
        {
            await using var client = SpannerDatabaseClient.Create(Options(host, credential: null));

            await client.QueryListAsync(new SpannerStatement("SELECT 1"), cancellationToken: Ct);
        }
        finally
        {
            Environment.SetEnvironmentVariable("GCE_METADATA_HOST", null);
        }

        Assert.Equal("Bearer meta-token-1", host.Server.CallsTo("ExecuteStreamingSql").Single().Headers.GetValue("authorization"));
    }

    [Fact]
    public async Task TokenSourceFailure_FailsTheCallWithUnauthenticated_WithoutCallingSpanner()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        var tokens = new FakeTokenSource(_ => throw new InvalidOperationException("The Application Default Credentials are not available."));
        await using var client = SpannerDatabaseClient.Create(Options(host, tokens));

        var ex = await Assert.ThrowsAsync<SpannerException>(() => client.WarmUpAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));

        Assert.Equal(SpannerErrorCode.Unauthenticated, ex.ErrorCode);
        Assert.Contains("Application Default Credentials are not available", ex.Message);
        Assert.Equal(1, tokens.Requests);
        Assert.Empty(host.Server.Calls);
    }

    [Fact]
    public async Task TokenSourceThatHangs_FailsWithUnavailableAfterTheTokenTimeout()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        var tokens = new FakeTokenSource(_ => new TaskCompletionSource<string>().Task);
        await using var client = SpannerDatabaseClient.Create(Options(host, tokens, tokenTimeout: TimeSpan.FromMilliseconds(200)));

        var ex = await Assert.ThrowsAsync<SpannerException>(() => client.WarmUpAsync(Ct).WaitAsync(TimeSpan.FromSeconds(20), Ct));

        Assert.Equal(SpannerErrorCode.Unavailable, ex.ErrorCode);
        Assert.Contains("No access token for Cloud Spanner within 0.2 s", ex.Message);
        Assert.True(tokens.Requests > 1, "UNAVAILABLE is transient, so the call should have been tried again");
        Assert.Empty(host.Server.Calls);
    }

    [Fact]
    public async Task TokenSourceBlip_IsRetriedAndTheCallSucceeds()
    {
        await using var host = await FakeSpannerHost.StartAsync(Ct);
        var tokens = new FakeTokenSource(n => n == 1
            ? throw new HttpRequestException("connection refused (metadata server restarting)")
            : Task.FromResult("after-blip"));
        await using var client = SpannerDatabaseClient.Create(Options(host, tokens));

        await client.WarmUpAsync(Ct);

        Assert.Equal("Bearer after-blip", host.Server.CallsTo("BatchCreateSessions").Single().Headers.GetValue("authorization"));
    }

    public static TheoryData<string, StatusCode> TokenFailures => new()
    {
        { "timeout", StatusCode.Unavailable },
        { "network", StatusCode.Unavailable },
        { "token-server-503", StatusCode.Unavailable },
        { "token-server-429", StatusCode.Unavailable },
        { "invalid-grant-400", StatusCode.Unauthenticated },
        { "no-adc", StatusCode.Unauthenticated },
    };

    [Theory]
    [MemberData(nameof(TokenFailures))]
    public void TokenFailure_MapsToRetryableOrNot(string failure, StatusCode expected)
    {
        Exception exception = failure switch
        {
            "timeout" => new TimeoutException(),
            "network" => new HttpRequestException("no route to host"),
            "token-server-503" => new TokenResponseException(new TokenErrorResponse { Error = "unavailable" }, HttpStatusCode.ServiceUnavailable),
            "token-server-429" => new TokenResponseException(new TokenErrorResponse { Error = "rate_limited" }, HttpStatusCode.TooManyRequests),
            "invalid-grant-400" => new TokenResponseException(new TokenErrorResponse { Error = "invalid_grant" }, HttpStatusCode.BadRequest),
            _ => new InvalidOperationException("The Application Default Credentials are not available."),
        };
        var credentials = new AccessTokenCredentials(new FakeTokenSource(_ => Task.FromResult("t")), TimeSpan.FromSeconds(1), TimeProvider.System, NullLogger.Instance);

        Assert.Equal(expected, credentials.StatusFor(exception).StatusCode);
    }

    [Theory]
    [InlineData("https://spanner.googleapis.com", true)]
    [InlineData("https://europe-west1-spanner.googleapis.com", true)]
    [InlineData("http://127.0.0.1:9999", true)]
    [InlineData("http://localhost:9999", true)]
    [InlineData("http://spanner.internal.example:443", false)]
    [InlineData("spanner.googleapis.com", false)]
    public void Endpoint_PlaintextOnlyToLoopback(string endpoint, bool accepted)
    {
        var options = new SpannerClientOptions { ProjectId = "p", InstanceId = "i", DatabaseId = "d", Endpoint = endpoint };

        var error = Record.Exception(options.Validate);

        Assert.Equal(accepted, error is null);
        if (!accepted)
        {
            Assert.Contains(endpoint, Assert.IsType<ArgumentException>(error).Message);
        }
    }

    private static SpannerClientOptions Options(FakeSpannerHost host, ITokenAccess? credential, TimeSpan? tokenTimeout = null) => new()
    {
        ProjectId = "p",
        InstanceId = "i",
        DatabaseId = "d",
        Endpoint = host.Endpoint,
        Credential = credential,
        TokenTimeout = tokenTimeout ?? TimeSpan.FromSeconds(10),
        MinSessions = 1,
        MaxSessions = 2,
    };
}
