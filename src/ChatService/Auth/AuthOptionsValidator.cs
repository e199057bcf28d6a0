using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>
/// Refuses to start with an identity configuration that cannot work: without the local
/// development switch, tokens are the only way in, so their issuer, audience and keys must be set.
/// </summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    // A scheduled fetch more often than this only loads the issuer; an issuer's new key is found
    // by the fetch its first token causes, never by waiting for the schedule.
    private static readonly TimeSpan MinAutomaticRefresh = TimeSpan.FromMinutes(5);

    // Below this, tokens naming made-up keys could make every replica fetch the JWKS all the time.
    private static readonly TimeSpan MinRefresh = TimeSpan.FromSeconds(1);

    // Upper bounds keep the fetch schedule's arithmetic (timestamps) far from overflowing, and a key set
    // older than a week is no cache any more.
    private static readonly TimeSpan MaxAutomaticRefresh = TimeSpan.FromDays(7);
    private static readonly TimeSpan MaxRefresh = TimeSpan.FromDays(1);

    private static readonly TimeSpan MinFetchTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxFetchTimeout = TimeSpan.FromSeconds(60);

    // A call that waits longer for keys holds its client (and a Kestrel stream) for nothing: an
    // issuer that has not answered in 30 s is down.
    private static readonly TimeSpan MaxUnknownKeyWait = TimeSpan.FromSeconds(30);

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        if (!options.AllowUserIdHeader)
        {
            if (string.IsNullOrWhiteSpace(options.Issuer))
            {
                errors.Add("Auth:Issuer is required (the iss of accepted tokens)");
            }

            if (options.AcceptedAudiences.Count == 0)
            {
                errors.Add("Auth:Audience is required (or Auth:Audiences, a list of accepted aud values)");
            }

            if (!options.HasKeySource)
            {
                errors.Add("Auth:JwksUrl or Auth:SigningKeys is required (the keys tokens are signed with)");
            }
        }

        if (options.AcceptedAudiences.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("Auth:Audience/Auth:Audiences must not contain empty entries");
        }

        if (!string.IsNullOrWhiteSpace(options.JwksUrl))
        {
            if (!Uri.TryCreate(options.JwksUrl, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
            {
                errors.Add("Auth:JwksUrl must be an absolute http(s) URL");
            }
            else if (url.Scheme == "http" && options.JwksRequireHttps)
            {
                errors.Add("Auth:JwksUrl must be https (set Auth:JwksRequireHttps=false only for a local key server)");
            }

            if (options.JwksRefreshInterval < MinAutomaticRefresh || options.JwksRefreshInterval > MaxAutomaticRefresh)
            {
                errors.Add($"Auth:JwksRefreshInterval must be between {MinAutomaticRefresh} and {MaxAutomaticRefresh}");
            }

            if (options.JwksMinimumRefreshInterval < MinRefresh || options.JwksMinimumRefreshInterval > MaxRefresh)
            {
                errors.Add($"Auth:JwksMinimumRefreshInterval must be between {MinRefresh} and {MaxRefresh}");
            }

            if (options.JwksFetchTimeout < MinFetchTimeout || options.JwksFetchTimeout > MaxFetchTimeout)
            {
                errors.Add($"Auth:JwksFetchTimeout must be between {MinFetchTimeout} and {MaxFetchTimeout}");
            }

            if (options.JwksUnknownKeyWait < TimeSpan.Zero || options.JwksUnknownKeyWait > MaxUnknownKeyWait)
            {
                errors.Add($"Auth:JwksUnknownKeyWait must be between 0 and {MaxUnknownKeyWait}");
            }
        }

        for (var i = 0; i < options.SigningKeys.Count; i++)
        {
            if (!SigningKeyReader.TryRead(options.SigningKeys[i], out _, out var error))
            {
                errors.Add($"Auth:SigningKeys:{i}: {error}");
            }
        }

        if (options.ClockSkew < TimeSpan.Zero || options.ClockSkew > TimeSpan.FromMinutes(10))
        {
            errors.Add("Auth:ClockSkew must be between 0 and 10 minutes");
        }

        if (options.CallerReuse < TimeSpan.Zero || options.CallerReuse > TimeSpan.FromHours(1))
        {
            errors.Add("Auth:CallerReuse must be between 0 and 1 hour");
        }

        if (options.CallerReuseLimit is < 1 or > 10_000_000)
        {
            errors.Add("Auth:CallerReuseLimit must be between 1 and 10000000");
        }

        if (errors.Count == 0)
        {
            return ValidateOptionsResult.Success;
        }

        if (!options.AllowUserIdHeader)
        {
            errors.Add("(for local development only, Auth:AllowUserIdHeader=true accepts the x-user-id header instead)");
        }

        return ValidateOptionsResult.Fail(errors);
    }
}
