using System.ComponentModel.DataAnnotations;
using ChatService.Cache;
using StackExchange.Redis;

namespace ChatService.Tests.Deployment;

/// <summary>
/// The Redis settings a managed Redis needs (TLS with a private CA, AUTH, an ACL user), against a real
/// redis-server that accepts nothing less: the service's own client configuration connects, and every way
/// of getting it wrong is refused rather than silently downgraded.
/// </summary>
public sealed class RedisProductionOptionsTests : IAsyncLifetime
{
    private readonly TestCertificateAuthority _authority = new("chatservice test redis CA");
    private TlsRedisServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await TlsRedisServer.StartAsync(_authority, Ct);

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _authority.Dispose();
    }

    [Fact]
    public async Task TlsWithThePrivateCa_AndTheAclUser_Connects()
    {
        var options = TlsOptions(user: TlsRedisServer.AclUser, password: TlsRedisServer.AclPassword);

        await using var redis = await ConnectAsync(options);
        var db = redis.GetDatabase();
        await db.StringSetAsync("{deploy}:probe", "ok", TimeSpan.FromMinutes(1));

        Assert.Equal("ok", (string?)await db.StringGetAsync("{deploy}:probe"));
        Assert.Equal(TlsRedisServer.AclUser, (string?)await db.ExecuteAsync("ACL", "WHOAMI"));
    }

    [Fact]
    public async Task TlsWithTheDefaultUsersPassword_Connects()
    {
        await using var redis = await ConnectAsync(TlsOptions(user: null, password: TlsRedisServer.DefaultPassword));

        Assert.True((await redis.GetDatabase().PingAsync()) >= TimeSpan.Zero);
    }

    [Fact]
    public async Task ServerCertificateFromAnotherCa_IsRefused()
    {
        using var other = new TestCertificateAuthority("someone else's CA");
        var otherCa = other.WriteCertificate(_server.Directory, "other-ca.crt");
        var options = TlsOptions(user: null, password: TlsRedisServer.DefaultPassword);
        options.CaCertificatePath = otherCa;

        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectAsync(options));
    }

    [Fact]
    public async Task ACaBundleWithSeveralCertificates_TrustsEachOfThem()
    {
        // During a CA rotation the bundle holds the old and the new CA; the server may use either.
        using var other = new TestCertificateAuthority("the next CA");
        var bundle = Path.Combine(_server.Directory, "bundle.crt");
        await File.WriteAllTextAsync(bundle, other.Certificate.ExportCertificatePem() + "\n" + await File.ReadAllTextAsync(_server.CaCertificatePath, Ct), Ct);
        var options = TlsOptions(user: null, password: TlsRedisServer.DefaultPassword);
        options.CaCertificatePath = bundle;

        await using var redis = await ConnectAsync(options);

        Assert.True(redis.IsConnected);
    }

    [Fact]
    public async Task SslHostTheCertificateDoesNotName_IsRefused()
    {
        var options = TlsOptions(user: null, password: TlsRedisServer.DefaultPassword);
        options.SslHost = "redis.elsewhere.example";

        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectAsync(options));
    }

    [Fact]
    public async Task WrongPassword_IsRefused()
    {
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectAsync(TlsOptions(user: TlsRedisServer.AclUser, password: "wrong")));
    }

    [Fact]
    public async Task WithoutTls_IsRefused()
    {
        var options = TlsOptions(user: null, password: TlsRedisServer.DefaultPassword);
        options.Ssl = false;
        options.CaCertificatePath = null;

        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectAsync(options));
    }

    [Fact]
    public void CaCertificateWithoutTls_FailsValidation()
    {
        var options = new RedisOptions { Endpoints = "10.0.0.3:6379", CaCertificatePath = _server.CaCertificatePath };

        var errors = Validate(options);

        Assert.Contains(errors, e => e.ErrorMessage!.Contains("set Redis:Ssl=true", StringComparison.Ordinal));
    }

    [Fact]
    public void CaCertificatePathThatHoldsNoCertificate_FailsValidationNamingIt()
    {
        var notPem = Path.Combine(_server.Directory, "not-a-cert.txt");
        File.WriteAllText(notPem, "hello");
        var options = new RedisOptions { Endpoints = "10.0.0.3:6379", Ssl = true, CaCertificatePath = notPem };

        var errors = Validate(options);

        Assert.Contains(errors, e => e.ErrorMessage!.Contains(notPem, StringComparison.Ordinal));
    }

    private RedisOptions TlsOptions(string? user, string password) => new()
    {
        Endpoints = $"127.0.0.1:{_server.Port}",
        Ssl = true,
        CaCertificatePath = _server.CaCertificatePath,
        User = user,
        Password = password,
    };

    /// <summary>The service's configuration, made to fail fast instead of reconnecting in the background.</summary>
    private static async Task<ConnectionMultiplexer> ConnectAsync(RedisOptions options)
    {
        var config = options.ToConfiguration();
        config.AbortOnConnectFail = true;
        config.ConnectRetry = 1;
        return await ConnectionMultiplexer.ConnectAsync(config);
    }

    private static List<ValidationResult> Validate(RedisOptions options)
    {
        var errors = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);
        return errors;
    }
}
