using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>Translates <see cref="AuthOptions"/> into the JwtBearer handler's validation rules.</summary>
internal sealed class ConfigureJwtBearer(IOptions<AuthOptions> authOptions, JwksKeySet jwks, AuthMetrics metrics) : IConfigureNamedOptions<JwtBearerOptions>
{
    public const string JwksHttpClient = "jwks";

    /// <summary>
    /// Asymmetric algorithms plus HMAC. Key types keep them apart: an RSA public key can never
    /// be used as an HMAC secret, so the classic algorithm-confusion attack does not apply.
    /// </summary>
    private static readonly string[] Algorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512,
    ];

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name != JwtBearerDefaults.AuthenticationScheme)
        {
            return;
        }

        var auth = authOptions.Value;
        var staticKeys = auth.SigningKeys.Select(Read).ToList();
        // Keep claim names as issued: the user id is "sub", not a mapped .NET claim type.
        options.MapInboundClaims = false;
        options.EventsType = typeof(BearerTokenEvents);
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = auth.Issuer,
            ValidateAudience = true,
            ValidAudiences = auth.AcceptedAudiences,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            ClockSkew = auth.ClockSkew,
            ValidAlgorithms = Algorithms,
            IssuerSigningKeys = staticKeys,
            NameClaimType = CallerAuthentication.UserIdClaim,
        };

        if (jwks.Enabled)
        {
            // Keys from the JWKS are looked up per token by the handler, which waits for the issuer's new
            // keys; no ConfigurationManager, whose refresh on an unknown key refuses the call that needed it.
            options.TokenHandlers.Clear();
            options.TokenHandlers.Add(new JwksTokenHandler(jwks, staticKeys, metrics));
        }
    }

    /// <remarks>
    /// A key without an id gets one: IdentityModel 8.23 throws a NullReferenceException while
    /// reporting a failed signature when some key has none. A token with another kid is still
    /// tried against every key.
    /// </remarks>
    private static SecurityKey Read(SigningKeyOptions key, int index)
    {
        // The validator has already refused unreadable keys at start.
        if (!SigningKeyReader.TryRead(key, out var securityKey, out var error))
        {
            throw new InvalidOperationException(error);
        }

        securityKey!.KeyId ??= $"static-{index}";
        return securityKey;
    }
}
