using ChatService.Auth;
using ChatService.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace ChatService.Tests.Auth;

/// <summary>Without the local-development switch, the service refuses to start unless tokens can be checked.</summary>
public sealed class AuthStartupTests
{
    private static readonly TestSigner Rsa = TestSigner.Rsa("rsa-1");

    [Fact]
    public void Production_WithoutAuthConfiguration_RefusesToStart()
    {
        var ex = StartFails([]);

        Assert.Contains("Auth:Issuer is required", ex.Message);
        Assert.Contains("Auth:Audience is required", ex.Message);
        Assert.Contains("Auth:JwksUrl or Auth:SigningKeys is required", ex.Message);
    }

    [Fact]
    public void Production_WithAPrivateKeyConfigured_RefusesToStart_WithoutEchoingIt()
    {
        var privatePem = ((Microsoft.IdentityModel.Tokens.RsaSecurityKey)Rsa.Key).Rsa.ExportPkcs8PrivateKeyPem();

        var ex = StartFails(new Dictionary<string, string?>
        {
            ["Auth:Issuer"] = TestSigner.Issuer,
            ["Auth:Audience"] = TestSigner.Audience,
            ["Auth:SigningKeys:0:PublicKeyPem"] = privatePem,
        });

        Assert.Contains("Auth:SigningKeys:0: PublicKeyPem holds a private key", ex.Message);
        Assert.DoesNotContain(privatePem.Split('\n')[1], ex.Message);
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "HmacSecret", Convert.ToBase64String(new byte[16]), "at least 32 bytes" },
        { "HmacSecret", "not base64!", "not valid base64" },
        { "PublicKeyPem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not a PEM-encoded RSA or EC public key" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Validator_RefusesUnusableKeys(string field, string value, string mentions)
    {
        var options = Valid();
        options.SigningKeys = [field == "HmacSecret" ? new SigningKeyOptions { HmacSecret = value } : new SigningKeyOptions { PublicKeyPem = value }];

        var result = new AuthOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(mentions, result.FailureMessage);
        Assert.DoesNotContain(value, result.FailureMessage);
    }

    [Fact]
    public void Validator_RefusesPlainHttpJwks_UnlessAllowed()
    {
        var options = Valid();
        options.SigningKeys = [];
        options.JwksUrl = "http://issuer.example/jwks.json";

        Assert.Contains("must be https", new AuthOptionsValidator().Validate(null, options).FailureMessage);
        options.JwksRequireHttps = false;
        Assert.True(new AuthOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("-00:00:00.001", false)]
    [InlineData("00:00:00", true)]
    [InlineData("00:00:30", true)]
    [InlineData("00:00:30.001", false)]
    public void Validator_BoundsTheUnknownKeyWait(string wait, bool accepted)
    {
        var options = Valid();
        options.JwksUrl = "https://issuer.example/jwks.json";
        options.JwksUnknownKeyWait = TimeSpan.Parse(wait, System.Globalization.CultureInfo.InvariantCulture);

        var result = new AuthOptionsValidator().Validate(null, options);

        Assert.Equal(accepted, result.Succeeded);
        if (!accepted)
        {
            Assert.Contains("Auth:JwksUnknownKeyWait must be between 0 and 00:00:30", result.FailureMessage);
        }
    }

    [Theory]
    [InlineData("refresh", "00:04:59", false)]
    [InlineData("refresh", "7.00:00:00", true)]
    [InlineData("refresh", "7.00:00:01", false)]
    [InlineData("refresh", "10675199.00:00:00", false)]
    [InlineData("minimum", "00:00:00.999", false)]
    [InlineData("minimum", "1.00:00:00", true)]
    [InlineData("minimum", "1.00:00:01", false)]
    [InlineData("minimum", "10675199.00:00:00", false)]
    [InlineData("timeout", "00:00:00.999", false)]
    [InlineData("timeout", "00:01:00", true)]
    [InlineData("timeout", "00:01:00.001", false)]
    public void Validator_BoundsTheJwksIntervals_SoTheScheduleCannotOverflow(string setting, string value, bool accepted)
    {
        var options = Valid();
        options.JwksUrl = "https://issuer.example/jwks.json";
        var parsed = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        var name = setting switch
        {
            "refresh" => "Auth:JwksRefreshInterval",
            "minimum" => "Auth:JwksMinimumRefreshInterval",
            _ => "Auth:JwksFetchTimeout",
        };
        switch (setting)
        {
            case "refresh":
                options.JwksRefreshInterval = parsed;
                break;
            case "minimum":
                options.JwksMinimumRefreshInterval = parsed;
                break;
            default:
                options.JwksFetchTimeout = parsed;
                break;
        }

        var result = new AuthOptionsValidator().Validate(null, options);

        Assert.Equal(accepted, result.Succeeded);
        if (!accepted)
        {
            Assert.Contains($"{name} must be between", result.FailureMessage);
        }
    }

    [Fact]
    public void Validator_WithTheHeaderSwitchOn_NeedsNoKeys()
    {
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { AllowUserIdHeader = true }).Succeeded);
        Assert.True(new AuthOptionsValidator().Validate(null, Valid()).Succeeded);
    }

    private static AuthOptions Valid() => new()
    {
        Issuer = TestSigner.Issuer,
        Audiences = [TestSigner.Audience],
        SigningKeys = [new SigningKeyOptions { PublicKeyPem = Rsa.PublicKeyPem }],
    };

    /// <summary>Starts the real host as Production (<see cref="ProductionStart"/>); the failure comes before anything touches Spanner or Redis.</summary>
    private static OptionsValidationException StartFails(Dictionary<string, string?> settings) => ProductionStart.Fails(settings);
}
