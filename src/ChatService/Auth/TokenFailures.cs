using Microsoft.IdentityModel.Tokens;

namespace ChatService.Auth;

/// <summary>
/// What to tell a caller whose token was refused: enough to fix the client, nothing about the
/// keys or the expected values.
/// </summary>
internal static class TokenFailures
{
    public static string Describe(Exception? failure) => failure switch
    {
        RefusedIdentityException refused => refused.Message,
        SigningKeysUnavailableException unavailable => unavailable.Message + "; retry shortly",
        SecurityTokenExpiredException => "the bearer token has expired",
        SecurityTokenNotYetValidException => "the bearer token is not valid yet (nbf)",
        SecurityTokenNoExpirationException => "the bearer token has no expiry (exp)",
        SecurityTokenInvalidAudienceException => "the bearer token was not issued for this service (aud)",
        SecurityTokenInvalidIssuerException => "the bearer token's issuer (iss) is not trusted",
        SecurityTokenSignatureKeyNotFoundException => "the bearer token is signed with a key this service does not know",
        SecurityTokenInvalidAlgorithmException => "the bearer token's signing algorithm is not accepted",
        SecurityTokenInvalidSignatureException => "the bearer token's signature is not valid",
        SecurityTokenMalformedException or ArgumentException => "the bearer token is not a well-formed JWT",
        _ => "the bearer token is not valid",
    };
}
