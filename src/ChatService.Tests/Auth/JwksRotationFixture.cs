using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Auth;

/// <summary>
/// The service taking its keys from a JWKS server the tests rotate, take down and make hang, with a
/// minimum refresh interval of <see cref="MinimumRefreshInterval"/> and an unknown-key wait of
/// <see cref="UnknownKeyWait"/> (longer than the 2 s default, so a loaded test machine still gets a local
/// fetch done within it), and a fetch timeout of <see cref="FetchTimeout"/>, far past the wait, so a fetch
/// made to hang outlasts the wait by much more than a loaded machine's delays. Every call validates its
/// token (no caller reuse).
/// </summary>
public sealed class JwksRotationFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public static readonly TimeSpan MinimumRefreshInterval = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan UnknownKeyWait = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(30);

    public FakeJwksServer Jwks { get; private set; } = null!;

    public TestSigner Published { get; } = TestSigner.Rsa("rotation-rsa-1");

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Auth:AllowUserIdHeader"] = "false",
        ["Auth:Issuer"] = TestSigner.Issuer,
        ["Auth:Audience"] = TestSigner.Audience,
        ["Auth:JwksUrl"] = Jwks.Url.ToString(),
        ["Auth:JwksRequireHttps"] = "false",
        ["Auth:CallerReuse"] = "00:00:00",
        ["Auth:JwksMinimumRefreshInterval"] = MinimumRefreshInterval.ToString("c"),
        ["Auth:JwksUnknownKeyWait"] = UnknownKeyWait.ToString("c"),
        ["Auth:JwksFetchTimeout"] = FetchTimeout.ToString("c"),
    };

    public override async ValueTask InitializeAsync()
    {
        Jwks = await FakeJwksServer.StartAsync(CancellationToken.None);
        Jwks.Publish(Published);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Jwks.DisposeAsync();
    }
}
