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
/// <see cref="CallerReuse"/>): clients send the same token on every call, and validating it each time (the
/// signature, the scheme's handlers) was most of what authenticating a warm call cost.
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
        if (result is not { Succeeded: true, Principal: { } principal })
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
/// credentials. A principal is shared by the calls that reuse it and must not be changed.
/// </summary>
internal sealed class CallerReuse(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<CallerCredentials, Known> _known = new();

    private readonly TimeSpan _lifetime = options.Value.CallerReuse;

    private readonly int _limit = options.Value.CallerReuseLimit;

    private readonly bool _allowUserIdHeader = options.Value.AllowUserIdHeader;

    private int _count;

    /// <summary>How many callers are kept now.</summary>
    internal int Count => Volatile.Read(ref _count);

    /// <summary>
    /// The authorization header whenever there is one (a bad token is never rescued by the development
    /// header), else the x-user-id header where that is allowed. Repeated headers are never reused: the
    /// handlers decide what they mean, every time.
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
            return authorization.Count == 1 ? new CallerCredentials(IsBearer: true, authorization[0]) : default;
        }

        if (!_allowUserIdHeader)
        {
            return default;
        }

        var userId = headers[CallerAuthentication.UserIdHeader];
        return userId.Count == 1 ? new CallerCredentials(IsBearer: false, userId[0]) : default;
    }

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
        var added = false;
        _known.AddOrUpdate(credentials, _ => { added = true; return known; }, (_, _) => known);
        if (added)
        {
            Interlocked.Increment(ref _count);
        }
    }

    /// <summary>Drops the expired entries, or every entry when none has expired: rare, and the next calls only validate in full again.</summary>
    private void Prune()
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
