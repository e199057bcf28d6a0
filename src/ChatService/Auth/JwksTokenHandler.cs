using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>
/// The bearer handler's token validation when keys come from a JWKS: before the usual checks, the
/// token's key id is looked up in <see cref="JwksKeySet"/>, which waits for a fetch when the key is new
/// (an issuer's rotation), so the first calls signed with a new key pass. The keys it validates with are
/// the static ones and the JWKS's as they are after that lookup.
/// </summary>
/// <remarks>
/// The lookup happens here rather than in a key resolver because resolvers are synchronous: waiting for
/// a fetch in one would hold a thread-pool thread per waiting call. Only tokens whose header reads and
/// names an accepted algorithm may wait or cause a fetch; anything else is judged at once by the usual
/// checks, which refuse it.
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
        if (!TryReadHeader(token, out var keyId, out var algorithm)
            || algorithm is null || validationParameters.ValidAlgorithms?.Contains(algorithm) != true
            || (keyId is not null && _staticKeys.Any(key => key.KeyId == keyId)))
        {
            validationParameters.IssuerSigningKeys = [.. _staticKeys, .. _jwks.Current];
            return await base.ValidateTokenAsync(token, validationParameters);
        }

        var lookup = await _jwks.FindAsync(keyId);
        validationParameters.IssuerSigningKeys = [.. _staticKeys, .. lookup.Keys];
        var result = await base.ValidateTokenAsync(token, validationParameters);
        // A key not found may still have validated the token: the handler tries every key when no id matches.
        if (result.IsValid || lookup.Outcome == JwksKeyOutcome.Known || result.Exception is not SecurityTokenSignatureKeyNotFoundException)
        {
            return result;
        }

        _metrics.UnknownKeyRefused(lookup.Outcome);
        return lookup.Outcome == JwksKeyOutcome.Unavailable
            ? new TokenValidationResult { IsValid = false, Exception = new SigningKeysUnavailableException() }
            : result;
    }

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
