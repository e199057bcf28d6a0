using System.Diagnostics.Metrics;
using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Moderation;

/// <summary>
/// The service with the simulated moderator (<c>FORBIDDEN</c> is violence, <c>insultword</c>
/// harassment, <c>[mod:outage]</c> an outage), user messages refused when flagged, replies checked
/// every 20 characters and at the end; the characters' route is a real OpenAI-compatible server whose
/// reply each test scripts.
/// </summary>
public class ModerationFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const string Route = "llm";

    public FakeOpenAIServer Server { get; private set; } = null!;

    protected virtual string OnOutage => "FailOpen";

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Routes:llm:0"] = "llm",
        // The tests read the requests the server received; a summary job's would come between them.
        ["Summary:Enabled"] = "false",
        ["Moderation:Moderator"] = "Simulated",
        ["Moderation:UserMessages"] = "Refuse",
        ["Moderation:ReplyWindowChars"] = "20",
        ["Moderation:OnOutage"] = OnOutage,
        ["Moderation:Simulated:FlaggedTerms:violence:0"] = "FORBIDDEN",
        ["Moderation:Simulated:FlaggedTerms:harassment:0"] = "insultword",
    };

    public override async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAIServer.StartAsync(CancellationToken.None);
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>As <see cref="ModerationFixture"/>, with moderator outages failing closed.</summary>
public sealed class FailClosedModerationFixture(LocalStack stack) : ModerationFixture(stack)
{
    protected override string OnOutage => "FailClosed";
}

/// <summary>
/// The classes that count the process-wide moderation meter (<see cref="ModerationCounters"/>): one
/// collection, so they never run in parallel and count each other's checks.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ModerationMeterCollection
{
    public const string Name = "moderation meter";
}

/// <summary>Counts the moderation meter's measurements by instrument and tags while alive (the meter is process-wide: count deltas).</summary>
public sealed class ModerationCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _counts = [];
    private readonly Lock _gate = new();

    public ModerationCounters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "ChatService.Moderation")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name + "{" + string.Join(",", tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}")) + "}";
            lock (_gate)
            {
                _counts[key] = _counts.GetValueOrDefault(key) + value;
            }
        });
        _listener.Start();
    }

    /// <summary>The count of e.g. <c>chat.moderation.outages{policy=blocked,target=reply}</c> (tags by name).</summary>
    public long this[string key]
    {
        get
        {
            lock (_gate)
            {
                return _counts.GetValueOrDefault(key);
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
