using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>
/// The bearer handler's token validation when keys come from a JWKS: a token is validated with the
/// static keys and the JWKS's keys known now, matched by IdentityModel's own rules (a kid, or every key
/// when none matches). Only when that fails because no key fits (an issuer's rotation) does the call
/// search <see cref="JwksKeySet"/>, which waits for a fetch, and validate again with what it brings, so
/// the first calls signed with a new key pass.
/// </summary>
/// <remarks>
/// The search happens here rather than in a key resolver because resolvers are synchronous: waiting for
/// a fetch in one would hold a thread-pool thread per waiting call. Only signed tokens whose claims pass
/// (lifetime, audience, issuer), whose header reads and names an accepted algorithm, and no static key's
/// id, may wait or cause a fetch; anything else is judged at once by the usual checks.
/// </remarks>
internal sealed class JwksTokenHandler : JsonWebTokenHandler
{
    /// <summary>A longer header is no JWT header this service accepts (real ones are well under 1 KB).</summary>
    private const int MaxHeaderChars = 8 * 1024;

    private readonly JwksKeySet _jwks;
    private readonly IReadOnlyList<SecurityKey> _staticKeys;
    private readonly AuthMetrics _metrics;

    public JwksTokenHandler(JwksKeySet jwks, IReadOnlyList<SecurityKey> staticKeys, AuthMetrics metrics)
    {
        _jwks = jwks;
        _staticKeys = staticKeys;
        _metrics = metrics;
        // Keep claim names as issued (JwtBearerOptions.MapInboundClaims only reaches its own handlers).
        MapInboundClaims = false;
    }

    /// <summary>
    /// Validates <paramref name="token"/> with <paramref name="validationParameters"/>, whose signing keys
    /// it replaces: the bearer handler passes each call its own copy.
    /// </summary>
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var keys = _jwks.Use(out var startedFetch);
        validationParameters.IssuerSigningKeys = [.. _staticKeys, .. keys.List];
        // The claims no key can mend (lifetime, audience, issuer) are checked before the signature, so a
        // token that fails them is refused for that and never waits for, or causes, a fetch. IdentityModel
        // checks them after a failed signature only for a token whose kid matches no key; a token without
        // a kid that no key validates fails as "key not found" too, and would otherwise be searched for.
        validationParameters.ValidateSignatureLast = true;
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid || !NeedsOtherKeys(result) || !MayFetch(token, validationParameters))
        {
            return result;
        }

        var search = new JwksKeySearch(keys) { StartedOne = startedFetch };
        while (true)
        {
            var outcome = await _jwks.FindAsync(search);
            if (outcome == JwksKeyOutcome.NewKeys)
            {
                validationParameters.IssuerSigningKeys = [.. _staticKeys, .. search.Tried.List];
                result = await base.ValidateTokenAsync(token, validationParameters);
                if (result.IsValid || !NeedsOtherKeys(result))
                {
                    return result;
                }

                continue;
            }

            _metrics.UnknownKeyRefused(outcome);
            return outcome switch
            {
                JwksKeyOutcome.Unavailable => new TokenValidationResult { IsValid = false, Exception = new SigningKeysUnavailableException() },
                // The key may be one the issuer published after the last fetch: the token was not found bad,
                // so the client is told to retry (UNAVAILABLE), not to sign the user out.
                JwksKeyOutcome.Throttled => new TokenValidationResult { IsValid = false, Exception = new SigningKeysUnavailableException(SigningKeysUnavailableException.Throttled) },
                _ => result,
            };
        }
    }

    /// <summary>
    /// Whether the token failed only because no key fits it: its claims passed (they are checked first),
    /// and no key validated it while none matched its kid, or it has no kid (IdentityModel reports both as
    /// "key not found"; a kid that matches a key whose signature fails is an invalid signature, never
    /// searched for). A token without a kid is searched for like an unknown kid: it may be signed with a
    /// key the issuer published without an id since the last fetch.
    /// </summary>
    private static bool NeedsOtherKeys(TokenValidationResult result) =>
        result.Exception is SecurityTokenSignatureKeyNotFoundException;

    /// <summary>
    /// Whether the token may make the call wait for, or cause, a fetch: its header reads, names an
    /// accepted algorithm, and names no static key (a token that static key does not validate is bad).
    /// </summary>
    private bool MayFetch(string token, TokenValidationParameters validationParameters) =>
        TryReadHeader(token, out var keyId, out var algorithm)
        && algorithm is not null && validationParameters.ValidAlgorithms?.Contains(algorithm) == true
        && (keyId is null || !_staticKeys.Any(key => key.KeyId == keyId));

    /// <summary>
    /// The <c>kid</c> and <c>alg</c> of a compact JWT's header, without reading the rest. False when the
    /// header is not a base64url JSON object; a member that is not a string counts as absent.
    /// </summary>
    internal static bool TryReadHeader(string token, out string? keyId, out string? algorithm)
    {
        keyId = null;
        algorithm = null;
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot is <= 0 or > MaxHeaderChars)
        {
            return false;
        }

        byte[] header;
        try
        {
            header = Base64UrlEncoder.DecodeBytes(token[..dot]);
        }
        catch (FormatException)
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(header);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isKeyId = reader.ValueTextEquals("kid"u8);
                var isAlgorithm = reader.ValueTextEquals("alg"u8);
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && (isKeyId || isAlgorithm))
                {
                    if (isKeyId)
                    {
                        keyId = reader.GetString();
                    }
                    else
                    {
                        algorithm = reader.GetString();
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return reader.TokenType == JsonTokenType.EndObject;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
