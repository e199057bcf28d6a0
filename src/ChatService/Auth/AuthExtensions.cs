using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>
/// Wires caller identity: JWT bearer validation, the local-development x-user-id handler, the
/// policy scheme that picks one of them per call, and the policy the chat API requires.
/// </summary>
public static class AuthExtensions
{
    public static IHostApplicationBuilder AddCallerAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        // AddAuthentication() would also add Data Protection, which bearer tokens never use and
        // which creates and warns about an unencrypted key ring on every start; so only the
        // pieces the handlers need.
        // Only challenges default to the caller scheme; authenticating is left to the chat API's
        // policy (below), so health probes, reflection and /metrics never validate a token a client
        // happens to send on the whole channel.
        builder.Services.AddAuthenticationCore(options =>
        {
            options.DefaultChallengeScheme = CallerAuthentication.Scheme;
            options.DefaultForbidScheme = CallerAuthentication.Scheme;
        });
        builder.Services.AddWebEncoders();
        builder.Services.TryAddSingleton<IAuthenticationConfigurationProvider, AuthenticationSection>();
        new AuthenticationBuilder(builder.Services)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, UserIdHeaderHandler>(CallerAuthentication.UserIdHeaderScheme, displayName: null, configureOptions: null)
            .AddPolicyScheme(CallerAuthentication.Scheme, displayName: null, configureOptions: _ => { });
        builder.Services.AddOptions<PolicySchemeOptions>(CallerAuthentication.Scheme).Configure<IOptions<AuthOptions>>((options, auth) =>
        {
            // A call that sends an authorization header is always judged by it, so a bad token
            // fails even where the header switch is on; the switch is read once, at start.
            var allowHeader = auth.Value.AllowUserIdHeader;
            options.ForwardDefaultSelector = context => allowHeader && context.Request.Headers.Authorization.Count == 0
                ? CallerAuthentication.UserIdHeaderScheme
                : JwtBearerDefaults.AuthenticationScheme;
        });
        builder.Services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ConfigureJwtBearer>();
        builder.Services.AddSingleton<BearerTokenEvents>();
        builder.Services.AddHttpClient(ConfigureJwtBearer.JwksHttpClient, client => client.Timeout = TimeSpan.FromSeconds(10));

        // Only endpoints that ask for the policy need a caller (the chat API, see Api/ApiExtensions):
        // health checks, reflection, metrics and CORS preflights stay anonymous.
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(CallerAuthentication.Policy, policy => policy
                .AddAuthenticationSchemes(CallerAuthentication.Scheme)
                .RequireAuthenticatedUser());
        builder.Services.AddHostedService<AuthStartupReport>();
        return builder;
    }

    /// <summary>
    /// Authenticates every request and enforces the endpoints' policies. Call after
    /// UseBrowserSupport: CORS must answer preflights (which carry no credentials) first, and
    /// gRPC-Web must see the refusal to translate it for browsers.
    /// </summary>
    public static WebApplication UseCallerAuthentication(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
