using System.Security.Claims;
using System.Text.Encodings.Web;
using ChatService.Api;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ChatService.Auth;

/// <summary>
/// Local development only: the caller is whoever the <c>x-user-id</c> metadata header names.
/// <see cref="CallerAuthentication.Scheme"/> forwards here only when
/// <see cref="AuthOptions.AllowUserIdHeader"/> is on and the call has no authorization header,
/// so a bearer token that fails is never rescued by the header.
/// </summary>
internal sealed class UserIdHeaderHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    IOptions<AuthOptions> auth) : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    private const string Header = CallerAuthentication.UserIdHeader;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Nothing forwards here with the switch off; a handler asked for by name must not open the door either.
        if (!auth.Value.AllowUserIdHeader)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        // Repeated headers arrive joined with commas, as gRPC's own metadata joins them: a
        // different user from either, never one of them picked silently.
        var userId = Request.Headers[Header].ToString();
        if (userId.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!CallerIds.IsWellFormedHeader(userId))
        {
            return Task.FromResult(AuthenticateResult.Fail(new RefusedIdentityException(
                $"{Header} must be 1..{CallerIds.MaxLength} printable ASCII characters without surrounding spaces")));
        }

        var identity = new ClaimsIdentity([new Claim(CallerAuthentication.UserIdClaim, userId)], Scheme.Name, CallerAuthentication.UserIdClaim, roleType: null);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }

    /// <summary>A gRPC UNAUTHENTICATED status with the reason, instead of the HTTP 401 a client could only report as such.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var reason = result.Failure is RefusedIdentityException refused
            ? refused.Message
            : $"missing caller identity: send 'authorization: Bearer <JWT>' or, in local development, the {Header} metadata header";
        GrpcStatusResponse.Write(Context, StatusCode.Unauthenticated, reason);
    }
}
