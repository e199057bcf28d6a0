using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Where the built reference web client is (<c>web/dist</c>), for the service to serve it at <c>/</c>.
/// Bound from the <c>WebClient</c> section. <c>scripts/run.sh</c> sets it, so a local run opens a working
/// chat at http://localhost:8080/; in production the client is static files for any host, and this stays
/// unset.
/// </summary>
public sealed class WebClientOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "WebClient";

    /// <summary>The directory holding the built client's <c>index.html</c>. Default: none (nothing is served).</summary>
    public string? Root { get; set; }

    internal bool Enabled => !string.IsNullOrWhiteSpace(Root);
}

/// <summary>A root without a built client fails the start, instead of answering every page with 404.</summary>
internal sealed class WebClientOptionsValidator : IValidateOptions<WebClientOptions>
{
    public ValidateOptionsResult Validate(string? name, WebClientOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        return File.Exists(Path.Combine(options.Root!, "index.html"))
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"WebClient:Root: '{options.Root}' has no index.html; build the web client first (npm --prefix web ci && npm --prefix web run build) or leave WebClient:Root unset.");
    }
}
