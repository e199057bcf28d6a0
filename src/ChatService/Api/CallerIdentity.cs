using System.Security.Claims;
using ChatService.Auth;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>
/// Who is calling: the <c>sub</c> of a valid bearer token. Only when the local-development
/// switch (<see cref="AuthOptions.AllowUserIdHeader"/>) is on, and no authorization header was
/// sent, the <c>x-user-id</c> metadata header names the caller instead. A token that fails
/// validation is always UNAUTHENTICATED, never a fallback to the header.
/// </summary>
internal sealed class CallerIdentity(IOptions<AuthOptions> options, ILogger<CallerIdentity> logger)
{
    public const string UserIdHeader = "x-user-id";
    private const string SubjectClaim = "sub";
    private const int MaxUserIdLength = 128;

    public async Task<string> UserIdAsync(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (http.Request.Headers.Authorization.Count > 0)
        {
            return await FromBearerTokenAsync(http, context.Method);
        }

        if (options.Value.AllowUserIdHeader)
        {
            return FromHeader(context);
        }

        throw Unauthenticated(Headers(context).Get(UserIdHeader) is null
            ? "missing credentials: send 'authorization: Bearer <JWT>'"
            : $"the {UserIdHeader} header is not accepted by this service: send 'authorization: Bearer <JWT>'");
    }

    private async Task<string> FromBearerTokenAsync(HttpContext http, string method)
    {
        var result = await http.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme);
        if (result.None)
        {
            // An authorization header of another scheme (Basic, a bare token...).
            throw Unauthenticated("the authorization header must be 'Bearer <JWT>'");
        }

        if (!result.Succeeded)
        {
            var reason = TokenFailures.Describe(result.Failure);
            AuthLog.TokenRefused(logger, method, reason, result.Failure);
            throw Unauthenticated(reason);
        }

        http.User = result.Principal;
        var subject = result.Principal.FindFirstValue(SubjectClaim);
        if (string.IsNullOrEmpty(subject))
        {
            throw Unauthenticated("the bearer token has no subject (sub)");
        }

        return IsWellFormed(subject) ? subject : throw Unauthenticated($"the bearer token's subject (sub) must be 1..{MaxUserIdLength} printable characters");
    }

    private static string FromHeader(ServerCallContext context)
    {
        var userId = Headers(context).GetValue(UserIdHeader);
        if (string.IsNullOrEmpty(userId))
        {
            throw Unauthenticated($"missing caller identity: send 'authorization: Bearer <JWT>' or, in local development, the {UserIdHeader} metadata header");
        }

        // Printable ASCII only, as gRPC defines text metadata: anything else (a lone surrogate from
        // an in-process caller, say) is stored re-encoded, so two different headers would name the
        // same user.
        return IsWellFormed(userId) && userId.All(c => c is >= ' ' and <= '~')
            ? userId
            : throw Unauthenticated($"{UserIdHeader} must be 1..{MaxUserIdLength} printable ASCII characters without surrounding spaces");
    }

    private static Metadata Headers(ServerCallContext context)
    {
        try
        {
            return context.RequestHeaders;
        }
        catch (FormatException)
        {
            // grpc-dotnet decodes every "-bin" header when the headers are first read.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a binary (-bin) metadata header is not valid base64"));
        }
    }

    private static bool IsWellFormed(string userId) =>
        userId.Length <= MaxUserIdLength && !userId.Any(char.IsControl) && userId.Trim().Length == userId.Length;

    private static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));
}
