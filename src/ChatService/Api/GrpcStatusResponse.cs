using System.Globalization;
using Grpc.Core;

namespace ChatService.Api;

/// <summary>
/// Ends a gRPC call before it reaches grpc-dotnet (an authentication challenge, a malformed
/// request): a trailers-only response, whose status travels in the headers. gRPC-Web's
/// middleware translates it for browsers like any other gRPC response.
/// </summary>
internal static class GrpcStatusResponse
{
    public static void Write(HttpContext context, StatusCode code, string message)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(message);
    }
}
