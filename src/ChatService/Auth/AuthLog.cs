namespace ChatService.Auth;

internal static partial class AuthLog
{
    [LoggerMessage(6001, LogLevel.Warning,
        "Auth:AllowUserIdHeader is on: callers without a bearer token are whoever their x-user-id header says. Use this only for local development.")]
    public static partial void UserIdHeaderAllowed(ILogger logger);

    [LoggerMessage(6002, LogLevel.Information, "Bearer tokens accepted from issuer {Issuer} for audiences {Audiences}; keys from {KeySources}.")]
    public static partial void TokensAccepted(ILogger logger, string? issuer, string audiences, string keySources);

    [LoggerMessage(6003, LogLevel.Debug, "Refused a bearer token on {Method}: {Reason}.")]
    public static partial void TokenRefused(ILogger logger, string method, string reason, Exception? exception);

    [LoggerMessage(6004, LogLevel.Information, "Fetched the issuer's JWKS ({Cause}): {KeyCount} signing keys.")]
    public static partial void JwksFetched(ILogger logger, JwksFetchCause cause, int keyCount);

    [LoggerMessage(6005, LogLevel.Warning, "Could not fetch the issuer's JWKS from {Url} ({Cause}); the keys already known stay in use.")]
    public static partial void JwksFetchFailed(ILogger logger, JwksFetchCause cause, string? url, Exception exception);
}
