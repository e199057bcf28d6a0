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
        // Only challenges default to the caller scheme; authenticating is left to the caller gate
        // (UseCallerAuthentication), which runs it for the chat API's calls alone.
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
        // The key set times its fetches itself (Auth:JwksFetchTimeout, and the host stopping); a key set is
        // a few KB, so 1 MB bounds what a broken or hostile endpoint can make the service buffer.
        builder.Services.AddHttpClient(ConfigureJwtBearer.JwksHttpClient, client =>
        {
            client.Timeout = Timeout.InfiniteTimeSpan;
            client.MaxResponseContentBufferSize = 1024 * 1024;
        });
        builder.Services.AddSingleton<AuthMetrics>();
        builder.Services.AddSingleton<JwksKeySet>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JwksKeySet>());

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<CallerReuse>();
        builder.Services.AddHostedService<AuthStartupReport>();
        return builder;
    }

    /// <summary>
    /// Requires an authenticated caller on the endpoints marked with <see cref="RequireCaller{TBuilder}"/>
    /// (see <see cref="CallerGate"/>); every other endpoint (health checks, reflection, metrics, CORS
    /// preflights) stays anonymous and never validates a token a client happens to send on the whole
    /// channel. Call after UseBrowserSupport: CORS must answer preflights (which carry no credentials)
    /// first, and gRPC-Web must see the refusal to translate it for browsers.
    /// </summary>
    public static WebApplication UseCallerAuthentication(this WebApplication app)
    {
        app.UseMiddleware<CallerGate>();
        return app;
    }

    /// <summary>Every call of these endpoints needs an authenticated caller.</summary>
    public static TBuilder RequireCaller<TBuilder>(this TBuilder endpoints)
        where TBuilder : IEndpointConventionBuilder =>
        endpoints.WithMetadata(CallerRequired.Instance);
}
