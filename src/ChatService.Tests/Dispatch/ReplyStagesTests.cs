using System.Diagnostics.Metrics;
using ChatService.Dispatch;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// <see cref="ReplyStages"/> (<c>Dispatch:StageTimings</c>, the send bench's breakdown): each stage is recorded
/// from the mark before it on its own path, once, when the first delta is written; a stage marked again keeps
/// its first time.
/// </summary>
public sealed class ReplyStagesTests
{
    [Fact]
    public async Task EveryStage_IsRecordedOnce_FromTheMarkBeforeIt_WhenTheFirstDeltaIsWritten()
    {
        var stages = new ReplyStages();
        var recorded = new List<(string Stage, double Ms)>();
        using var listener = Listen(recorded);

        stages.Mark(ReplyStage.Opened);
        foreach (var stage in Enum.GetValues<ReplyStage>().Where(s => s is not ReplyStage.Opened and not ReplyStage.FirstDeltaWritten))
        {
            await Task.Delay(2, TestContext.Current.CancellationToken);
            stages.Mark(stage);
        }

        // Nothing before the first delta is written; then every stage, once, however often it is marked again.
        Assert.Empty(Snapshot(recorded));
        await Task.Delay(2, TestContext.Current.CancellationToken);
        stages.Mark(ReplyStage.FirstDeltaWritten);
        stages.Mark(ReplyStage.FirstDeltaWritten);
        stages.Mark(ReplyStage.WindowRead);

        var seen = Snapshot(recorded);
        string[] expected =
        [
            "accepted_written", "worker_started", "window_read", "definitions_read", "context_loaded", "prompt_built",
            "attempt_started", "first_token", "first_delta_published", "first_delta_written", "accepted_to_first_delta",
        ];
        Assert.Equal(expected.Order(), seen.Select(r => r.Stage).Order());
        Assert.All(seen, r => Assert.True(r.Ms > 0, $"{r.Stage}: {r.Ms} ms"));
        // The whole spans the worker's stages after the API's Accepted: longer than any one of them.
        var whole = seen.Single(r => r.Stage == "accepted_to_first_delta").Ms;
        Assert.All(seen.Where(r => r.Stage is not "accepted_to_first_delta" and not "worker_started"), r => Assert.True(r.Ms < whole, $"{r.Stage} {r.Ms} ms, whole {whole} ms"));
    }

    private static List<(string Stage, double Ms)> Snapshot(List<(string Stage, double Ms)> recorded)
    {
        lock (recorded)
        {
            return [.. recorded];
        }
    }

    /// <summary>The stage durations this test's marks record (other tests record none: the option is off for them).</summary>
    private static MeterListener Listen(List<(string Stage, double Ms)> recorded)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DispatchMetrics.MeterName && instrument.Name == "chat.reply.stage.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "stage")
                {
                    lock (recorded)
                    {
                        recorded.Add(((string)tag.Value!, value));
                    }
                }
            }
        });
        listener.Start();
        return listener;
    }
}
