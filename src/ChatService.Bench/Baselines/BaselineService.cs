using ChatService.Bench.Baselines.V1;
using Grpc.Core;

namespace ChatService.Bench.Baselines;

/// <summary>Answers every call with a prebuilt reply: nothing but ASP.NET Core gRPC on the server side.</summary>
internal sealed class BaselineService(BaselinePayloads payloads) : Baseline.BaselineBase
{
    public override Task<GetReply> Get(GetRequest request, ServerCallContext context) =>
        Task.FromResult(payloads.Replies[request.Key]);
}
