using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The service with model routes for each failure path: a broken backend that fails before its
/// first token, a slow one, and routes that fall back or have nothing that works. Leases and
/// the sweep are short so recovery happens within a test.
/// </summary>
public sealed class PipelineFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:broken:Kind"] = "Simulated",
        ["Inference:Backends:broken:Model"] = "sim-broken",
        ["Inference:Backends:broken:FailBeforeFirstTokenRate"] = "1",
        ["Inference:Backends:broken2:Kind"] = "Simulated",
        ["Inference:Backends:broken2:Model"] = "sim-broken-2",
        ["Inference:Backends:broken2:FailBeforeFirstTokenRate"] = "1",
        ["Inference:Backends:slow:Kind"] = "Simulated",
        ["Inference:Backends:slow:Model"] = "sim-slow",
        ["Inference:Backends:slow:TimeToFirstToken"] = "00:00:00.050",
        ["Inference:Backends:slow:TokensPerSecond"] = "25",
        ["Inference:Backends:slow:MinTokens"] = "40",
        ["Inference:Backends:slow:MaxTokens"] = "50",
        ["Inference:Routes:fallback:0"] = "broken",
        ["Inference:Routes:fallback:1"] = "sim",
        ["Inference:Routes:down:0"] = "broken",
        ["Inference:Routes:down:1"] = "broken2",
        ["Inference:Routes:slow:0"] = "slow",
        ["Inference:RetryDelay"] = "00:00:00.010",
        ["Chat:ReplyLease"] = "00:00:02",
        ["Dispatch:SweepInterval"] = "00:00:00.300",
    };
}
