namespace ChatService.Auth;

/// <summary>
/// Who may call the service. Bound from the <c>Auth</c> configuration section. Callers send a
/// JWT as <c>authorization: Bearer &lt;token&gt;</c>; the user id is its <c>sub</c> claim.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The issuer (<c>iss</c>) tokens must carry. Default: none; required unless <see cref="AllowUserIdHeader"/>.</summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// The audience (<c>aud</c>) tokens must carry (<c>Auth:Audience</c>). Default: none; this or
    /// <see cref="Audiences"/> is required unless <see cref="AllowUserIdHeader"/>.
    /// </summary>
    public string? Audience { get; set; }

    /// <summary>More accepted audiences (<c>Auth:Audiences</c>, a list), e.g. one per client app. Default: none.</summary>
    public IReadOnlyList<string> Audiences { get; set; } = [];

    /// <summary>Every accepted audience: <see cref="Audience"/> and <see cref="Audiences"/>.</summary>
    public IReadOnlyList<string> AcceptedAudiences =>
        Audience is null ? Audiences : [Audience, .. Audiences];

    /// <summary>
    /// URL of the issuer's JSON Web Key Set; keys are fetched at start, cached, and fetched again
    /// by the first call after <see cref="JwksRefreshInterval"/> or when a token's key is not among them (see
    /// <see cref="JwksUnknownKeyWait"/>). Default: none.
    /// </summary>
    public string? JwksUrl { get; set; }

    /// <summary>Refuse a JWKS URL that is not https. Default: true (tests serve keys over plain http on loopback).</summary>
    public bool JwksRequireHttps { get; set; } = true;

    /// <summary>
    /// How old the fetched JWKS may get: the first call after this long starts a fetch in the background
    /// (there is no timer; without calls nothing is fetched). Default: 1 hour (5 minutes to 7 days).
    /// </summary>
    public TimeSpan JwksRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Shortest time between fetches caused by tokens signed with a key the service does not
    /// know (key rotation), so garbage tokens cannot make it hammer the issuer, and the retry delay of a
    /// failed fetch. Default: 1 minute (1 second to 1 day).
    /// </summary>
    public TimeSpan JwksMinimumRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a call whose token names a key the service does not know waits for the JWKS fetch
    /// that looks for it (one fetch, shared by every call naming unknown keys meanwhile), so the
    /// first calls signed with an issuer's new key pass instead of being refused while the keys
    /// are fetched. A call whose wait runs out, or whose fetch fails, is refused UNAVAILABLE: its
    /// token was not found bad, the keys could not be checked. Zero refuses at once and lets the
    /// fetch finish in the background. Default: 2 seconds (at most 30).
    /// </summary>
    public TimeSpan JwksUnknownKeyWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long one JWKS fetch (one request, never resent) may take before it is given up and counted as
    /// failed. Default: 10 seconds (1 to 60).
    /// </summary>
    public TimeSpan JwksFetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Static signing keys, next to or instead of <see cref="JwksUrl"/>. Default: none.</summary>
    public IList<SigningKeyOptions> SigningKeys { get; set; } = [];

    /// <summary>Tolerated clock difference when checking <c>exp</c> and <c>nbf</c>. Default: 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Local development only: callers without an <c>authorization</c> header are named by the
    /// <c>x-user-id</c> metadata header, which anyone can set. Default: false
    /// (<c>appsettings.Development.json</c> turns it on).
    /// </summary>
    public bool AllowUserIdHeader { get; set; }

    /// <summary>
    /// How long the service reuses a caller it has authenticated: a later call with exactly the same
    /// credentials (the same authorization header, or the same x-user-id) skips validation, never past
    /// the token's expiry (<c>exp</c>). A token signed with a key the issuer has since withdrawn stays
    /// accepted for at most this long on top of the key cache's own delay (<see cref="JwksRefreshInterval"/>).
    /// Zero validates every call. Default: 1 minute (at most 1 hour).
    /// </summary>
    public TimeSpan CallerReuse { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many authenticated callers <see cref="CallerReuse"/> keeps (a token of up to 8 K characters,
    /// kept as UTF-16, and its principal: typically 3-6 KB each). Default: 10,000.
    /// </summary>
    public int CallerReuseLimit { get; set; } = 10_000;

    /// <summary>
    /// The user ids (a token's <c>sub</c>, or the <c>x-user-id</c> in local development) of the
    /// operators who may read what any chat sent its model (<c>GetReplyPrompt</c>); everyone else
    /// reads only their own chats'. The only admin power there is. Default: none.
    /// </summary>
    public IReadOnlyList<string> AdminUserIds { get; set; } = [];

    /// <summary>Whether <paramref name="userId"/> is one of <see cref="AdminUserIds"/>.</summary>
    public bool IsAdmin(string userId) => AdminUserIds.Contains(userId, StringComparer.Ordinal);

    public bool HasKeySource => !string.IsNullOrWhiteSpace(JwksUrl) || SigningKeys.Count > 0;
}
