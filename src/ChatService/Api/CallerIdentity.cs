using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// Who is calling. Local mode takes the user id from the <c>x-user-id</c> metadata header.
/// </summary>
internal static class CallerIdentity
{
    public const string UserIdHeader = "x-user-id";
    private const int MaxUserIdLength = 128;

    public static string UserId(ServerCallContext context)
    {
        var userId = context.RequestHeaders.GetValue(UserIdHeader);
        if (string.IsNullOrEmpty(userId))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"missing caller identity: set the {UserIdHeader} metadata header"));
        }

        if (userId.Length > MaxUserIdLength || userId.Any(char.IsControl) || userId.Trim().Length != userId.Length)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated,
                $"{UserIdHeader} must be 1..{MaxUserIdLength} printable characters without surrounding spaces"));
        }

        return userId;
    }
}
