using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// What one hostile request got back: its final status, and <see cref="Problem"/> when something
/// the service said before that status was wrong (a reply event out of order, a duplicate that
/// was not reported as one, another user's data). <see cref="ClientSide"/>: the status was made
/// up by the client library from an exception (statuses the service sends carry none);
/// <see cref="CancelledByCaller"/>: the test itself had cancelled the call.
/// </summary>
internal sealed record Observation(StatusCode Status, string Detail, string? Problem = null, bool ClientSide = false, bool CancelledByCaller = false)
{
    public static readonly Observation Ok = new(StatusCode.OK, "");

    public static Observation Of(RpcException ex, string? problem = null) =>
        new(ex.StatusCode, ex.Status.Detail, problem, ClientSide: ex.Status.DebugException is not null);
}
