using System.Diagnostics;

namespace ChatService.Bench.Infrastructure;

/// <summary>
/// Where the machine's CPU went during a measured window: the bench (client, and the in-process
/// baseline server), the service (every service process measured, summed), the emulator, Redis and
/// everything else, in cores (2.0 = both cores of this machine busy for the whole window).
/// </summary>
internal sealed record CpuSplit(double Bench, double Service, double Emulator, double Redis, double Other, double MachineBusy, int Cores)
{
    public override string ToString() =>
        $"bench {Bench:0.00}, service {Service:0.00}, emulator {Emulator:0.00}, redis {Redis:0.00}, other {Other:0.00} (busy {MachineBusy:0.00} of {Cores})";

    /// <summary>Starts measuring; <see cref="Meter.Stop"/> gives the split since.</summary>
    public static Meter Start(int? servicePid) => new(servicePid is { } pid ? [pid] : []);

    /// <summary>Starts measuring with several service processes (replicas) counted as the service.</summary>
    public static Meter Start(IReadOnlyList<int> servicePids) => new(servicePids);

    internal sealed class Meter
    {
        private readonly IReadOnlyList<int> _servicePids;
        private readonly IReadOnlyList<int> _emulator = BenchStack.EmulatorPids();
        private readonly IReadOnlyList<int> _redis = BenchStack.RedisPids();
        private readonly double[] _start;
        private readonly long _startTimestamp = Stopwatch.GetTimestamp();

        public Meter(IReadOnlyList<int> servicePids)
        {
            _servicePids = servicePids;
            _start = Sample();
        }

        public CpuSplit Stop()
        {
            var end = Sample();
            var wall = Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds;
            double Cores(int i) => wall > 0 ? Math.Max(0, end[i] - _start[i]) / wall : 0;
            var busy = Cores(4);
            var known = Cores(0) + Cores(1) + Cores(2) + Cores(3);
            return new CpuSplit(Cores(0), Cores(1), Cores(2), Cores(3), Math.Max(0, busy - known), busy, Environment.ProcessorCount);
        }

        private double[] Sample() =>
        [
            ProcessProbe.CpuSeconds(Environment.ProcessId),
            _servicePids.Sum(ProcessProbe.CpuSeconds),
            _emulator.Sum(ProcessProbe.CpuSeconds),
            _redis.Sum(ProcessProbe.CpuSeconds),
            ProcessProbe.MachineCpuSeconds().Busy,
        ];
    }
}
