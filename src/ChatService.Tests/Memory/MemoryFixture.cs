using ChatService.Tests.Inference;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Memory;

/// <summary>
/// The service with its "llm" route on an OpenAI-compatible server that records every reply prompt, and
/// its summaries written by the "summary" route on a second such server (so a test can fail or slow one
/// without the other). A prompt window of <see cref="WindowTurns"/> turns and a summary every
/// <see cref="EveryTurns"/> turns, so a few exchanges make one due; the summary sweep runs twice a second.
/// </summary>
public class MemoryFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const int WindowTurns = 4;
    public const int EveryTurns = 4;
    public const int MaxTurnsPerJob = 8;

    /// <summary>Receives the reply prompts.</summary>
    public FakeOpenAIServer Server { get; private set; } = null!;

    /// <summary>Receives the summary prompts.</summary>
    public FakeOpenAIServer Summarizer { get; private set; } = null!;

    /// <summary>Whether replies trigger the summary job and the sweep runs.</summary>
    protected virtual bool SummariesEnabled => true;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Inference:Backends:llm:Kind"] = "OpenAI",
        ["Inference:Backends:llm:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Inference:Backends:llm:Model"] = "test-model",
        ["Inference:Routes:llm:0"] = "llm",
        ["Inference:Backends:summarizer:Kind"] = "OpenAI",
        ["Inference:Backends:summarizer:BaseUrl"] = Summarizer.BaseUrl.ToString(),
        ["Inference:Backends:summarizer:Model"] = "summary-model",
        ["Inference:Routes:summary:0"] = "summarizer",
        ["Dispatch:PromptWindowTurns"] = WindowTurns.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Summary:Enabled"] = SummariesEnabled ? "true" : "false",
        ["Summary:Route"] = "summary",
        ["Summary:EveryTurns"] = EveryTurns.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Summary:MaxTurnsPerJob"] = MaxTurnsPerJob.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Summary:SweepInterval"] = "00:00:00.500",
        ["Summary:RetryDelay"] = "00:00:00.500",
        ["Summary:Lease"] = "00:00:10",
        ["Summary:CallTimeout"] = "00:00:05",
        ["Summary:MaxAttempts"] = "3",
    };

    public override async ValueTask InitializeAsync()
    {
        Server = await FakeOpenAIServer.StartAsync(CancellationToken.None);
        Summarizer = await FakeOpenAIServer.StartAsync(CancellationToken.None);
        Summarizer.ReplyChunks = ["SUMMARY"];
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
        await Summarizer.DisposeAsync();
    }
}

/// <summary>
/// As <see cref="MemoryFixture"/>, with the summary job never triggered nor swept (tests run it by hand)
/// and no other background Spanner traffic, so a test can count the job's reads and commits.
/// </summary>
public sealed class ManualSummaryFixture(LocalStack stack) : MemoryFixture(stack)
{
    protected override bool SummariesEnabled => false;

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(base.Settings)
    {
        ["Dispatch:SweepInterval"] = "01:00:00",
        ["Health:Period"] = "01:00:00",
        ["Chat:CatalogBackfillInterval"] = "01:00:00",

        // The data-deletion sweep reads Spanner every round (30 s by default): tests here count reads.
        ["DataDeletion:SweepInterval"] = "01:00:00",

        // Generous on a loaded machine: a lease whose SET timed out skips its run, and a timed-out window
        // read would fall back to Spanner (tests here count the lease's outcome and the Spanner reads).
        ["Redis:OperationTimeout"] = "00:00:05",

        // A span out of attempts rests this long before it starts afresh (the give-up test moves a fake clock
        // past it, so the length only has to outlast any stall of a loaded machine).
        ["Summary:GiveUpPause"] = "00:01:00",

        // The summary route's prompts get 1024 - 512 (Summary:MaxOutputTokens) tokens: the short turns of
        // most tests fit many times over; long ones make the job end its span early.
        ["Inference:RouteBudgets:summary:ContextTokens"] = "1024",
    };
}

/// <summary>
/// As <see cref="MemoryFixture"/>, with replies triggering the summary job but no timed sweep and no other
/// background Spanner traffic, so a test can count what the triggered jobs read.
/// </summary>
public sealed class QuietSummaryFixture(LocalStack stack) : MemoryFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(base.Settings)
    {
        ["Summary:SweepInterval"] = "01:00:00",
        ["Dispatch:SweepInterval"] = "01:00:00",
        ["Health:Period"] = "01:00:00",
        ["Chat:CatalogBackfillInterval"] = "01:00:00",
        ["DataDeletion:SweepInterval"] = "01:00:00",
        ["Redis:OperationTimeout"] = "00:00:05",

        // The race test holds a summary call and a reply on gates until the other side has moved: time
        // enough for a loaded machine, so no call times out while it is held.
        ["Summary:CallTimeout"] = "00:01:00",
        ["Summary:Lease"] = "00:02:00",
        ["Inference:Backends:llm:FirstTokenTimeout"] = "00:01:00",
        ["Inference:Backends:summarizer:FirstTokenTimeout"] = "00:01:00",
    };
}

/// <summary>
/// The summary test classes, run one at a time and apart from the other tests: their sweeps and hand-run
/// jobs share the global <c>summary:leases:{k}</c> keys, so a parallel sweeper could take a test's entry.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SummarySweepCollection
{
    public const string Name = "Summary sweeps";
}
