using ChatService.Api;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace ChatService.Auth;

/// <summary>
/// The bearer handler's hooks: a valid token must also name a usable user, and a refused call
/// ends with a gRPC UNAUTHENTICATED status that says why (UNAVAILABLE when its key could not be
/// checked because the issuer's key set could not be fetched) (an HTTP 401 reaches gRPC clients as a
/// bare "HTTP status code: 401", and is no gRPC response at all to gRPC-Web and raw HTTP/2 callers).
/// </summary>
internal sealed class BearerTokenEvents(ILogger<BearerTokenEvents> logger) : JwtBearerEvents
{
    public override Task TokenValidated(TokenValidatedContext context)
    {
        var subject = context.Principal?.FindFirst(CallerAuthentication.UserIdClaim)?.Value;
        if (string.IsNullOrEmpty(subject))
        {
            context.Fail(new RefusedIdentityException("the bearer token has no subject (sub)"));
        }
        else if (!CallerIds.IsWellFormed(subject))
        {
            context.Fail(new RefusedIdentityException($"the bearer token's subject (sub) must be 1..{CallerIds.MaxLength} printable characters"));
        }

        return Task.CompletedTask;
    }

    public override Task Challenge(JwtBearerChallengeContext context)
    {
        var request = context.HttpContext.Request;
        string reason;
        var status = StatusCode.Unauthenticated;
        if (context.AuthenticateFailure is { } failure)
        {
            reason = TokenFailures.Describe(failure);
            if (failure is SigningKeysUnavailableException)
            {
                // The token was not found bad; the keys to check it could not be had. Clients retry
                // UNAVAILABLE, and sign the user out on UNAUTHENTICATED.
                status = StatusCode.Unavailable;
            }

            AuthLog.TokenRefused(logger, request.Path.Value ?? "", reason, failure);
        }
        else
        {
            // No token was read: this scheme also answers calls without any credentials when the
            // local-development switch is off.
            reason = request.Headers.Authorization.Count > 0
                ? "the authorization header must be 'Bearer <JWT>'"
                : request.Headers.ContainsKey(CallerAuthentication.UserIdHeader)
                    ? $"the {CallerAuthentication.UserIdHeader} header is not accepted by this service: send 'authorization: Bearer <JWT>'"
                    : "missing credentials: send 'authorization: Bearer <JWT>'";
        }

        context.HandleResponse();
        GrpcStatusResponse.Write(context.HttpContext, status, reason);
        return Task.CompletedTask;
    }
}
