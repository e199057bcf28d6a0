using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Auth;

/// <summary>
/// The service taking its signing keys from an issuer's JWKS URL (a local key server), with the
/// x-user-id switch off and one audience given as a plain string.
/// </summary>
public sealed class JwksFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public FakeJwksServer Jwks { get; private set; } = null!;

    public TestSigner Published { get; } = TestSigner.Rsa("jwks-rsa-1");

    public TestSigner PublishedEc { get; } = TestSigner.Ec("jwks-ec-1");

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Auth:AllowUserIdHeader"] = "false",
        ["Auth:Issuer"] = TestSigner.Issuer,
        ["Auth:Audience"] = TestSigner.Audience,
        ["Auth:JwksUrl"] = Jwks.Url.ToString(),
        ["Auth:JwksRequireHttps"] = "false",
        // Every call validates its token, so the tests exercise the key set each time (tokens minted in
        // the same second are identical and would otherwise be reused).
        ["Auth:CallerReuse"] = "00:00:00",
        ["Auth:JwksMinimumRefreshInterval"] = "00:00:01",
        // Room for a loaded test machine to finish a local fetch (the 2 s default is meant for production).
        ["Auth:JwksUnknownKeyWait"] = "00:00:05",
    };

    public override async ValueTask InitializeAsync()
    {
        Jwks = await FakeJwksServer.StartAsync(CancellationToken.None);
        Jwks.Publish(Published, PublishedEc);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Jwks.DisposeAsync();
    }
}
