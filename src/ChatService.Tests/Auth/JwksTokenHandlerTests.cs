using System.Diagnostics;
using ChatService.Auth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Tests.Auth;

/// <summary>
/// <see cref="JwksTokenHandler"/> against a real key server: a token is validated with the keys known now
/// by IdentityModel's own matching, so a token whose kid is not a key's exact id, but whose key is there,
/// passes without a fetch; and a static key validates a token at once, even before the JWKS is loaded.
/// </summary>
public sealed class JwksTokenHandlerTests : IAsyncLifetime
{
    private readonly TestSigner _static = TestSigner.Rsa(null);
    private FakeJwksServer _jwks = null!;
    private ServiceProvider _services = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _jwks = await FakeJwksServer.StartAsync(Ct);
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddHttpClient(ConfigureJwtBearer.JwksHttpClient);
        services.AddSingleton(Options.Create(new AuthOptions
        {
            JwksUrl = _jwks.Url.ToString(),
            JwksRequireHttps = false,
            JwksMinimumRefreshInterval = TimeSpan.FromMinutes(1),
            JwksUnknownKeyWait = TimeSpan.FromSeconds(20),
        }));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<Microsoft.Extensions.Logging.ILogger<JwksKeySet>>(NullLogger<JwksKeySet>.Instance);
        services.AddSingleton<AuthMetrics>();
        services.AddSingleton<JwksKeySet>();
        _services = services.BuildServiceProvider();
    }

    [Fact]
    public async Task AKeyPublishedWithoutAKid_ValidatesTokensNamingAnyKid_WithoutFetchingAgain()
    {
        var signer = TestSigner.Rsa(null);
        _jwks.Publish(signer);
        var handler = await StartAsync();
        var fetches = _jwks.Fetches;

        for (var i = 0; i < 3; i++)
        {
            var result = await handler.ValidateTokenAsync(signer.WithKeyId($"issuers-name-{i}").Token("alice"), Parameters());
            Assert.True(result.IsValid, result.Exception?.ToString());
        }

        Assert.Equal(fetches, _jwks.Fetches);
    }

    [Fact]
    public async Task ATokenWithoutAKid_SignedWithAStaticKey_PassesAtOnce_WhileTheFirstJwksFetchHangs()
    {
        _jwks.Publish(TestSigner.Rsa("jwks-1"));
        using (_jwks.Hang())
        {
            var handler = await StartAsync(waitForKeys: false);
            var clock = Stopwatch.StartNew();

            var result = await handler.ValidateTokenAsync(_static.Token("alice"), Parameters());

            Assert.True(result.IsValid, result.Exception?.ToString());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        }
    }

    [Fact]
    public async Task AMeterListenerThatThrows_DoesNotChangeHowAnUnknownKeyIsAnswered()
    {
        var meters = _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "chat.auth.unknown_kid_refusals" && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => throw new InvalidOperationException("a broken listener"));
        listener.Start();
        _jwks.Publish(TestSigner.Rsa("jwks-1"));
        var handler = await StartAsync();
        var stranger = TestSigner.Rsa("never-published");

        // The first call looks (one fetch) and finds the issuer does not publish the key; the second, inside
        // the minimum interval, may not look and is told to retry.
        var looked = await handler.ValidateTokenAsync(stranger.Token("alice"), Parameters());
        var throttled = await handler.ValidateTokenAsync(stranger.Token("alice"), Parameters());

        Assert.IsType<SecurityTokenSignatureKeyNotFoundException>(looked.Exception);
        Assert.IsType<SigningKeysUnavailableException>(throttled.Exception);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.GetRequiredService<JwksKeySet>().StopAsync(Ct);
        await _services.DisposeAsync();
        await _jwks.DisposeAsync();
    }

    private async Task<JwksTokenHandler> StartAsync(bool waitForKeys = true)
    {
        var keys = _services.GetRequiredService<JwksKeySet>();
        await keys.StartAsync(Ct);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (waitForKeys && keys.Current.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the JWKS was not loaded within 30 s");
            await Task.Delay(20, Ct);
        }

        var staticKey = new RsaSecurityKey(((RsaSecurityKey)_static.Key).Rsa.ExportParameters(false)) { KeyId = "static-0" };
        return new JwksTokenHandler(keys, [staticKey], _services.GetRequiredService<AuthMetrics>());
    }

    private static TokenValidationParameters Parameters() => new()
    {
        ValidIssuer = TestSigner.Issuer,
        ValidAudience = TestSigner.Audience,
        RequireSignedTokens = true,
        ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
    };
}
