namespace ChatService.Auth;

/// <summary>
/// A token naming a key the service does not know, while the issuer's key set could not be checked for
/// it: the fetch failed, or did not answer within <see cref="AuthOptions.JwksUnknownKeyWait"/>, or
/// (<see cref="Throttled"/>) no fetch may start yet and the key may be one published since the last. The
/// token was not found bad, so the call is refused UNAVAILABLE, which clients retry, rather than
/// UNAUTHENTICATED, which they answer by signing the user out.
/// </summary>
internal sealed class SigningKeysUnavailableException(string message = SigningKeysUnavailableException.Failed) : Exception(message)
{
    public const string Failed = "the issuer's signing keys could not be fetched to check the bearer token's key";

    public const string Throttled = "the bearer token's key is not among the issuer's keys fetched moments ago, and they are fetched again only after a short interval";
}
