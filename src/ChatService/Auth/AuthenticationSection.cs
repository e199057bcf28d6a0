using Microsoft.AspNetCore.Authentication;

namespace ChatService.Auth;

/// <summary>
/// The <c>Authentication</c> configuration section, which JwtBearer reads its scheme defaults
/// from (the framework's own provider comes only with the full AddAuthentication()).
/// </summary>
internal sealed class AuthenticationSection(IConfiguration configuration) : IAuthenticationConfigurationProvider
{
    public IConfiguration AuthenticationConfiguration => configuration.GetSection("Authentication");
}
