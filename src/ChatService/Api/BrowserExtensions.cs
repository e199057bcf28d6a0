using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Lets browsers call every RPC: gRPC-Web (and gRPC-Web-text) on all gRPC services, which works over
/// HTTP/1.1 (browsers cannot speak h2c to port 50051, so web apps use the HTTP port 8080), plus a CORS
/// policy for the configured origins.
/// </summary>
public static class BrowserExtensions
{
    /// <summary>Adds gRPC-Web and, when <c>Cors:AllowedOrigins</c> lists origins, the CORS policy.</summary>
    public static IHostApplicationBuilder AddBrowserSupport(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<BrowserCorsOptions>()
            .BindConfiguration(BrowserCorsOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<BrowserCorsOptions>, BrowserCorsOptionsValidator>();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>()
            .Configure<IOptions<BrowserCorsOptions>>((cors, browser) => cors.AddPolicy(BrowserCorsOptions.PolicyName, policy => Build(policy, browser.Value)));
        return builder;
    }

    /// <summary>
    /// Adds the gRPC-Web translation and the CORS middleware. Call before authentication and before the
    /// endpoints are mapped: a preflight request carries no credentials and must be answered by CORS first.
    /// </summary>
    public static WebApplication UseBrowserSupport(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<BrowserCorsOptions>>().Value.Enabled)
        {
            app.UseCors(BrowserCorsOptions.PolicyName);
        }

        // DefaultEnabled: every gRPC service, including health and those mapped later, answers gRPC-Web.
        app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
        return app;
    }

    private static void Build(CorsPolicyBuilder policy, BrowserCorsOptions options)
    {
        if (options.AllowsAnyOrigin)
        {
            policy.AllowAnyOrigin();
        }
        else
        {
            policy.WithOrigins(options.AllowedOrigins);
        }

        // gRPC-Web is always POST; credentials travel in the authorization header, never in cookies,
        // so the policy needs no AllowCredentials (which would also forbid '*').
        policy.WithMethods("POST")
            .WithHeaders([.. BrowserCorsOptions.AllowedHeaders])
            .WithExposedHeaders([.. BrowserCorsOptions.ExposedHeaders])
            .SetPreflightMaxAge(options.PreflightMaxAge);
    }
}
