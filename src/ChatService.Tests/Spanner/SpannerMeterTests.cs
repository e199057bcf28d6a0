using System.Diagnostics.Metrics;
using Spanner.Client;
using Spanner.Client.Internal;

namespace ChatService.Tests.Spanner;

/// <summary>
/// The client's meter reports process-wide totals, so its tests run with nothing else running:
/// any other test's commit would hide a commit this client failed to record.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SpannerMeterCollection
{
    public const string Name = "spanner-meter";
}

[Collection(SpannerMeterCollection.Name)]
public sealed class SpannerMeterTests : IAsyncDisposable
{
    private readonly FakeSpannerServer _server = new();
    private readonly SpannerDatabaseClient _client;

    public SpannerMeterTests()
    {
        _client = SpannerDatabaseClient.Create(
            new SpannerClientOptions { ProjectId = "p", InstanceId = "i", DatabaseId = "d", MinSessions = 1, MaxSessions = 1 },
            _server,
            new RecordingTimeProvider());
    }

    [Fact]
    public async Task Commit_IsRecordedOnTheSpannerClientMeter()
    {
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SpannerTelemetry.MeterName && instrument.Name == "spanner.client.commits")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        // The counter is an observed process total: each observation reports the total so far.
        long commits = 0;
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Exchange(ref commits, value));
        listener.Start();
        listener.RecordObservableInstruments();
        var before = Interlocked.Read(ref commits);

        await _client.WriteAsync([SpannerMutation.Insert("T").Set("K", 1)], TestContext.Current.CancellationToken);

        listener.RecordObservableInstruments();
        Assert.Equal(before + 1, Interlocked.Read(ref commits));
    }

    public async ValueTask DisposeAsync() => await _client.DisposeAsync();
}
