using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>Wires caller identity: JWT bearer validation and the local-development header switch.</summary>
public static class AuthExtensions
{
    public static IHostApplicationBuilder AddCallerAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();

        // The API authenticates the calls that need a user itself (see Api/CallerIdentity), so
        // health, reflection and preflight requests stay anonymous without any policy.
        // AddAuthentication() would also add Data Protection, which bearer tokens never use and
        // which creates and warns about an unencrypted key ring on every start; so only the
        // pieces the JwtBearer handler needs.
        builder.Services.AddAuthenticationCore(options => options.DefaultScheme = JwtBearerDefaults.AuthenticationScheme);
        builder.Services.AddWebEncoders();
        builder.Services.TryAddSingleton<IAuthenticationConfigurationProvider, AuthenticationSection>();
        new AuthenticationBuilder(builder.Services).AddJwtBearer();
        builder.Services.AddSingleton<IConfigureOptions<JwtBearerOptions>, ConfigureJwtBearer>();
        builder.Services.AddHttpClient(ConfigureJwtBearer.JwksHttpClient, client => client.Timeout = TimeSpan.FromSeconds(10));
        builder.Services.AddHostedService<AuthStartupReport>();
        return builder;
    }

}
