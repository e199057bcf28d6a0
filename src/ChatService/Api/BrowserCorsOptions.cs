using ChatService.Auth;

namespace ChatService.Api;

/// <summary>
/// Which web origins may call the API from a browser (gRPC-Web with CORS). Bound from the <c>Cors</c>
/// configuration section.
/// </summary>
public sealed class BrowserCorsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Cors";

    /// <summary>The name of the CORS policy the service applies to every request.</summary>
    public const string PolicyName = "browsers";

    /// <summary>
    /// Origins allowed to call the API from a browser, each <c>scheme://host[:port]</c> exactly as the
    /// browser sends it in the <c>Origin</c> header (e.g. <c>https://chat.example.com</c>); <c>*</c> allows
    /// any origin. Default: none, which leaves CORS off: browsers can then only call from pages the service
    /// itself serves, while non-browser clients are unaffected.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// How long a browser may reuse a preflight answer before asking again. Browsers cap it (Chromium at
    /// 2 hours, Firefox at 24 hours). Default: 10 minutes.
    /// </summary>
    public TimeSpan PreflightMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Request headers a browser may send: the gRPC-Web protocol's own, the deadline, and the caller's
    /// identity (a bearer token, or <c>x-user-id</c> where that header is accepted).
    /// </summary>
    public static readonly IReadOnlyList<string> AllowedHeaders =
        ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", CallerAuthentication.UserIdHeader];

    /// <summary>
    /// Response headers a browser script may read. gRPC-Web sends the status in the body's trailer frame
    /// when there is a body, but as headers on a trailers-only response (an error before any message),
    /// which scripts can only see if they are exposed.
    /// </summary>
    public static readonly IReadOnlyList<string> ExposedHeaders = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

    internal bool Enabled => AllowedOrigins.Length > 0;

    internal bool AllowsAnyOrigin => AllowedOrigins.Contains("*");
}
