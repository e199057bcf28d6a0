namespace ChatService.Auth;

/// <summary>
/// A token naming a key the service does not know, while the issuer's key set could not be fetched (it
/// failed, or did not answer within <see cref="AuthOptions.JwksUnknownKeyWait"/>). The token was not found
/// bad, so the call is refused UNAVAILABLE, which clients retry, rather than UNAUTHENTICATED, which they
/// answer by signing the user out.
/// </summary>
internal sealed class SigningKeysUnavailableException()
    : Exception("the issuer's signing keys could not be fetched to check the bearer token's key");
