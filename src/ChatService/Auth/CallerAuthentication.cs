namespace ChatService.Auth;

/// <summary>The names that tie caller authentication together: schemes, the policy, the claim and the header.</summary>
public static class CallerAuthentication
{
    /// <summary>
    /// The default scheme: a policy scheme that forwards each request to the bearer handler or,
    /// under the local-development switch and without an authorization header, to the x-user-id handler.
    /// </summary>
    public const string Scheme = "Caller";

    /// <summary>The scheme that names the caller by the <see cref="UserIdHeader"/> header (local development only).</summary>
    public const string UserIdHeaderScheme = "UserIdHeader";

    /// <summary>The claim that holds the caller's user id: the token's <c>sub</c>, or the header's value.</summary>
    public const string UserIdClaim = "sub";

    /// <summary>The metadata header that names the caller when <see cref="AuthOptions.AllowUserIdHeader"/> is on.</summary>
    public const string UserIdHeader = "x-user-id";
}
