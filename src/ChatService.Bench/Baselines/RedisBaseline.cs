using ChatService.Api.V1;
using ChatService.Bench.Load;

namespace ChatService.Bench.Baselines;

/// <summary>
/// Baseline 2: a raw Redis Cluster GET of the same bytes, parsed as a GetHistoryResponse like the
/// gRPC clients do.
/// </summary>
internal static class RedisBaseline
{
    public static Task<LoadResult> RunAsync(RedisPages pages, int callers, BenchOptions options, CancellationToken cancellationToken) =>
        ClosedLoop.RunAsync("raw Redis GET (same bytes)", callers, options.Warmup, options.Duration, async (caller, ct) =>
        {
            var value = await pages.Database.StringGetAsync(pages.Keys[caller.Random.Next(pages.Keys.Length)]);
            _ = GetHistoryResponse.Parser.ParseFrom((byte[])value!);
        }, servicePid: null, cancellationToken);
}
