using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>
/// The request metadata Google front ends route on: the resource prefix, the request's routing field
/// (<c>x-goog-request-params</c>, URL-encoded) and, for read-write traffic, <c>x-goog-spanner-route-to-leader</c>.
/// </summary>
internal static class RoutingHeaders
{
    public const string ResourcePrefix = "google-cloud-resource-prefix";
    public const string RequestParams = "x-goog-request-params";
    public const string RouteToLeader = "x-goog-spanner-route-to-leader";

    public static Metadata Create(string resourcePrefix, string field, string value, bool routeToLeader = false)
    {
        var headers = new Metadata
        {
            { ResourcePrefix, resourcePrefix },
            { RequestParams, $"{field}={Uri.EscapeDataString(value)}" },
        };
        if (routeToLeader)
        {
            headers.Add(RouteToLeader, "true");
        }

        return headers;
    }
}
