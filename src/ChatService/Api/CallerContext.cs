using ChatService.Auth;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>Who is calling, as authentication established it before the call reached the API.</summary>
internal static class CallerContext
{
    /// <summary>
    /// The caller's user id: the bearer token's <c>sub</c>, or (local development) the
    /// <c>x-user-id</c> header. Both handlers have checked it, and the caller gate
    /// lets no call without one through, so a missing id here is a wiring mistake.
    /// </summary>
    public static string GetUserId(this ServerCallContext context) =>
        context.GetHttpContext().User.FindFirst(CallerAuthentication.UserIdClaim)?.Value
        ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "the call has no authenticated caller"));
}
