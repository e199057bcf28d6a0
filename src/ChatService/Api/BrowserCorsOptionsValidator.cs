using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Rejects origins a browser would never send, so a typo (a trailing slash, a path, a missing scheme)
/// fails the start instead of silently blocking the web app.
/// </summary>
internal sealed class BrowserCorsOptionsValidator : IValidateOptions<BrowserCorsOptions>
{
    public ValidateOptionsResult Validate(string? name, BrowserCorsOptions options)
    {
        var failures = new List<string>();
        foreach (var origin in options.AllowedOrigins)
        {
            if (origin == "*")
            {
                continue;
            }

            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"Cors:AllowedOrigins: '{origin}' is not an http(s) origin such as https://chat.example.com.");
            }
            else if (origin.EndsWith('/') || uri.PathAndQuery != "/" || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            {
                failures.Add($"Cors:AllowedOrigins: '{origin}' must be scheme://host[:port] with no path, query or trailing slash.");
            }
        }

        if (options.AllowsAnyOrigin && options.AllowedOrigins.Length > 1)
        {
            failures.Add("Cors:AllowedOrigins: '*' already allows every origin; list either '*' or specific origins.");
        }

        if (options.PreflightMaxAge < TimeSpan.Zero)
        {
            failures.Add("Cors:PreflightMaxAge must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
