using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>Marks the endpoints every call of which needs an authenticated caller (the chat API).</summary>
public sealed class CallerRequired
{
    public static readonly CallerRequired Instance = new();

    private CallerRequired()
    {
    }
}

/// <summary>
/// Lets a call to a <see cref="CallerRequired"/> endpoint through only with an authenticated caller, and
/// puts that caller on <see cref="HttpContext.User"/>. The caller scheme
/// (<see cref="CallerAuthentication.Scheme"/>: bearer token, or the development x-user-id header) decides
/// who it is; a call it refuses is challenged by the same scheme, which answers UNAUTHENTICATED with the
/// reason. A caller once authenticated is reused for calls with exactly the same credentials (see
/// <see cref="CallerReuse"/>): clients send the same token on every call, and running the scheme's handlers
/// on each of them was most of what a warm call spent on identity. This relies on the caller depending on
/// nothing in a call but the header <see cref="CallerReuse.CredentialsOf"/> reads: a handler or claims
/// transformation that looked at anything else (a query string token, another header) would have to be
/// keyed here too.
/// </summary>
internal sealed class CallerGate(RequestDelegate next, CallerReuse reuse)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<CallerRequired>() is null)
        {
            return next(context);
        }

        var credentials = reuse.CredentialsOf(context.Request.Headers);
        if (reuse.Find(credentials) is { } known)
        {
            context.User = known;
            return next(context);
        }

        return AuthenticateAsync(context, credentials);
    }

    private async Task AuthenticateAsync(HttpContext context, CallerCredentials credentials)
    {
        var result = await context.AuthenticateAsync(CallerAuthentication.Scheme);
        if (result is not { Succeeded: true, Principal: { } principal } || !principal.Identities.Any(identity => identity.IsAuthenticated))
        {
            await context.ChallengeAsync(CallerAuthentication.Scheme);
            return;
        }

        context.User = principal;
        reuse.Remember(credentials, principal, result.Properties?.ExpiresUtc);
        await next(context);
    }
}

/// <summary>What the caller scheme judges a call by: which header, and its value (null: nothing reusable).</summary>
internal readonly record struct CallerCredentials(bool IsBearer, string? Value);

/// <summary>
/// Callers authenticated recently, by their exact credentials, for <see cref="AuthOptions.CallerReuse"/> and
/// never past the token's expiry; at most <see cref="AuthOptions.CallerReuseLimit"/> of them. Only
/// successes are kept, so a refused token is judged in full every time, and filling the table takes valid
/// credentials; only the canonical spelling of a credential is kept (<c>Bearer</c>, one space, a token of
/// at most <see cref="MaxTokenLength"/> characters), so one valid token cannot fill it in many spellings.
/// A principal is shared by the calls that reuse it and must not be changed.
/// </summary>
internal sealed class CallerReuse(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<CallerCredentials, Known> _known = new();

    private readonly TimeSpan _lifetime = options.Value.CallerReuse;

    private readonly int _limit = options.Value.CallerReuseLimit;

    private readonly bool _allowUserIdHeader = options.Value.AllowUserIdHeader;

    /// <summary>The longest token kept: real JWTs are a few kilobytes at most.</summary>
    internal const int MaxTokenLength = 8 * 1024;

    private const string BearerPrefix = "Bearer ";

    private int _count;

    private int _pruning;

    /// <summary>How many callers are kept now.</summary>
    internal int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The authorization header whenever there is one (a bad token is never rescued by the development
    /// header), else the x-user-id header where that is allowed. Nothing reusable (a null value) for
    /// repeated headers, other spellings of a bearer header, or values longer than a credential can be:
    /// the handlers decide what those mean, every time.
    /// </summary>
    public CallerCredentials CredentialsOf(IHeaderDictionary headers)
    {
        if (_lifetime <= TimeSpan.Zero)
        {
            return default;
        }

        var authorization = headers.Authorization;
        if (authorization.Count > 0)
        {
            return authorization.Count == 1 && authorization[0] is { } value && IsCanonicalBearer(value)
                ? new CallerCredentials(IsBearer: true, value)
                : default;
        }

        if (!_allowUserIdHeader)
        {
            return default;
        }

        var userId = headers[CallerAuthentication.UserIdHeader];
        return userId.Count == 1 && userId[0] is { Length: > 0 and <= CallerIds.MaxLength } id
            ? new CallerCredentials(IsBearer: false, id)
            : default;
    }

    private static bool IsCanonicalBearer(string value) =>
        value.Length > BearerPrefix.Length && value.Length <= BearerPrefix.Length + MaxTokenLength
        && value.StartsWith(BearerPrefix, StringComparison.Ordinal)
        && !char.IsWhiteSpace(value[BearerPrefix.Length]) && !char.IsWhiteSpace(value[^1]);

    public ClaimsPrincipal? Find(CallerCredentials credentials)
    {
        if (credentials.Value is null || !_known.TryGetValue(credentials, out var known))
        {
            return null;
        }

        if (time.GetTimestamp() < known.ExpiresAt)
        {
            return known.Principal;
        }

        Forget(credentials, known);
        return null;
    }

    public void Remember(CallerCredentials credentials, ClaimsPrincipal principal, DateTimeOffset? expires)
    {
        if (credentials.Value is null)
        {
            return;
        }

        var lifetime = _lifetime;
        if (expires is { } at && at - time.GetUtcNow() is var left && left < lifetime)
        {
            lifetime = left;
        }

        if (lifetime <= TimeSpan.Zero)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= _limit)
        {
            Prune();
        }

        var known = new Known(principal, time.GetTimestamp() + (long)(lifetime.TotalSeconds * time.TimestampFrequency));
        // The factory that ran last is the one whose result went in: an add that lost a race is retried as an update.
        var added = false;
        _known.AddOrUpdate(
            credentials,
            _ =>
            {
                added = true;
                return known;
            },
            (_, _) =>
            {
                added = false;
                return known;
            });
        if (added)
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>
    /// Drops the expired entries and, should that not make room, every entry: rare, and the next calls only
    /// validate in full again. One caller prunes at a time; the others add meanwhile (the limit is a bound of
    /// the table's size, overshot by at most the calls in flight).
    /// </summary>
    private void Prune()
    {
        if (Interlocked.Exchange(ref _pruning, 1) == 1)
        {
            return;
        }

        try
        {
            PruneAll();
        }
        finally
        {
            Volatile.Write(ref _pruning, 0);
        }
    }

    private void PruneAll()
    {
        var now = time.GetTimestamp();
        foreach (var (credentials, known) in _known)
        {
            if (known.ExpiresAt <= now)
            {
                Forget(credentials, known);
            }
        }

        if (Volatile.Read(ref _count) >= _limit)
        {
            foreach (var entry in _known)
            {
                Forget(entry.Key, entry.Value);
            }
        }
    }

    private void Forget(CallerCredentials credentials, Known known)
    {
        if (_known.TryRemove(new KeyValuePair<CallerCredentials, Known>(credentials, known)))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private sealed record Known(ClaimsPrincipal Principal, long ExpiresAt);
}
