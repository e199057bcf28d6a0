using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// One generated request. <see cref="Run"/> gets the call's deadline (when <see cref="DeadlineMs"/>
/// is set, counted from when it runs) and returns what the service answered; any status outside
/// <see cref="Allowed"/>, and always INTERNAL or UNKNOWN, is a violation.
/// </summary>
internal sealed record HostileCase(
    int Index,
    string Rpc,
    string Generator,
    CaseEffect Effect,
    IReadOnlySet<StatusCode> Allowed,
    int? DeadlineMs,
    Func<CancellationToken, DateTime?, Task<Observation>> Run)
{
    public override string ToString() => $"#{Index} {Rpc}/{Generator}";
}
