using ChatService.Bench.Baselines.V1;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Bench.Baselines;

/// <summary>Answers with prebuilt replies, or with the bytes of one Redis GET: nothing else on the server side.</summary>
internal sealed class BaselineService(BaselinePayloads payloads, RedisPages? redis) : Baseline.BaselineBase
{
    public override Task<GetReply> Get(GetRequest request, ServerCallContext context) =>
        Task.FromResult(payloads.Replies[request.Key]);

    public override async Task<GetReply> GetFromRedis(GetRequest request, ServerCallContext context)
    {
        var pages = redis ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "no Redis pages"));
        var value = await pages.Database.StringGetAsync(pages.Keys[request.Key]);
        return new GetReply { Payload = UnsafeByteOperations.UnsafeWrap((byte[])value!) };
    }
}
