using System.Diagnostics;
using ChatService.Bench.Infrastructure;
using ChatService.Bench.Load;
using ChatService.Bench.Reporting;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// The follow fan-out while it runs: followers open at once (and the peak), replies whose streams
/// have all ended, and the follower replica's RSS sampled every 250 ms, with a progress line every 5 s.
/// </summary>
internal sealed class FanOutProgress(int followers)
{
    private readonly Gauge _open = new();
    private readonly Gauge _peakOpen = new();
    private readonly Gauge _repliesEnded = new();
    private long _peakRss;

    public int PeakOpen => _peakOpen.Value;

    /// <summary>Largest RSS sampled.</summary>
    public long PeakRss => Interlocked.Read(ref _peakRss);

    /// <summary>A follower opened (+1) or ended (-1).</summary>
    public void FollowersChanged(int delta) => _peakOpen.RaiseTo(_open.Add(delta));

    public void ReplyEnded() => _repliesEnded.Add(1);

    /// <summary>Samples <paramref name="pid"/>'s RSS until cancelled.</summary>
    public async Task SampleAsync(int pid, CancellationToken cancellationToken)
    {
        var lastPrint = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var (rss, _) = ProcessProbe.Memory(pid);
                if (rss > PeakRss)
                {
                    Interlocked.Exchange(ref _peakRss, rss);
                }

                if (Stopwatch.GetElapsedTime(lastPrint) > TimeSpan.FromSeconds(5))
                {
                    lastPrint = Stopwatch.GetTimestamp();
                    Console.WriteLine($"  followers open {_open.Value} (peak {PeakOpen} of {followers}), replies ended {_repliesEnded.Value}, B RSS {BenchReport.Mib(rss)}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Done sampling.
        }
    }
}
