using System.Diagnostics;
using ChatService.Bench.Infrastructure;
using ChatService.Testing;
using StackExchange.Redis;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// Takes what following replies costs over one window: the machine's CPU split and B's own CPU time
/// (B relays replies that A generates) while the streams run, then, once A has settled every reply,
/// the service counters of A and B on <c>/metrics</c> and the Redis Cluster primaries' commands and CPU.
/// </summary>
internal sealed class FollowCostMeter
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>How long <see cref="StopAsync"/> waits for A to settle its replies before reading the counters anyway.</summary>
    private static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(30);

    private readonly ServiceProcess _a;
    private readonly ServiceProcess _b;
    private readonly ConnectionMultiplexer _redis;
    private readonly MetricsScrape _aBefore;
    private readonly MetricsScrape _bBefore;
    private readonly RedisClusterStats _redisBefore;
    private readonly double _bCpuBefore;
    private readonly CpuSplit.Meter _split;
    private readonly long _started;

    private FollowCostMeter(ServiceProcess a, ServiceProcess b, ConnectionMultiplexer redis, MetricsScrape aBefore, MetricsScrape bBefore, RedisClusterStats redisBefore)
    {
        (_a, _b, _redis, _aBefore, _bBefore, _redisBefore) = (a, b, redis, aBefore, bBefore, redisBefore);
        _split = CpuSplit.Start([a.Pid, b.Pid]);
        _bCpuBefore = ProcessProbe.CpuSeconds(b.Pid);
        _started = Stopwatch.GetTimestamp();
    }

    /// <summary>Reads the counters and starts the CPU clocks; <paramref name="redis"/> is the bench's own connection for readings.</summary>
    public static async Task<FollowCostMeter> StartAsync(ServiceProcess a, ServiceProcess b, ConnectionMultiplexer redis, CancellationToken cancellationToken)
    {
        var aBefore = await MetricsScrape.TakeAsync(Http, a.HttpPort, cancellationToken);
        var bBefore = await MetricsScrape.TakeAsync(Http, b.HttpPort, cancellationToken);
        var redisBefore = await RedisClusterStats.TakeAsync(redis);
        return new FollowCostMeter(a, b, redis, aBefore, bBefore, redisBefore);
    }

    /// <summary>
    /// Call when the streams have ended: stops the CPU clocks, waits until A owes no reply (so that
    /// what settling writes lands in this window rather than the next), then reads the counters.
    /// </summary>
    public async Task<FollowCost> StopAsync(CancellationToken cancellationToken)
    {
        var seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
        var bCpu = Math.Max(0, ProcessProbe.CpuSeconds(_b.Pid) - _bCpuBefore);
        var split = _split.Stop();

        var aAfter = await MetricsScrape.TakeAsync(Http, _a.HttpPort, cancellationToken);
        var waited = Stopwatch.StartNew();
        while (aAfter["chat_replies_owed"] > 0 && waited.Elapsed < SettleWait)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            aAfter = await MetricsScrape.TakeAsync(Http, _a.HttpPort, cancellationToken);
        }

        var bAfter = await MetricsScrape.TakeAsync(Http, _b.HttpPort, cancellationToken);
        var redis = (await RedisClusterStats.TakeAsync(_redis)).Since(_redisBefore);
        return new FollowCost(seconds, split, bCpu, new MetricsDelta(_aBefore, aAfter), new MetricsDelta(_bBefore, bAfter), redis, OwedAtEnd: aAfter["chat_replies_owed"]);
    }
}
