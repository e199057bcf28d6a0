using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>Says at start how callers are identified, loudly when anyone can claim any identity.</summary>
internal sealed class AuthStartupReport(IOptions<AuthOptions> options, ILogger<AuthStartupReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var auth = options.Value;
        if (auth.AllowUserIdHeader)
        {
            AuthLog.UserIdHeaderAllowed(logger);
        }

        if (auth.HasKeySource)
        {
            var sources = new List<string>();
            if (!string.IsNullOrWhiteSpace(auth.JwksUrl))
            {
                sources.Add(auth.JwksUrl);
            }

            if (auth.SigningKeys.Count > 0)
            {
                sources.Add($"{auth.SigningKeys.Count} static key(s)");
            }

            AuthLog.TokensAccepted(logger, auth.Issuer, string.Join(", ", auth.AcceptedAudiences), string.Join(" and ", sources));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
