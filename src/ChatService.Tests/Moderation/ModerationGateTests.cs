using System.Text;
using ChatService.Dispatch;
using ChatService.Moderation;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatService.Tests.Moderation;

/// <summary>The gate and a reply's screen with scripted moderators: time-outs that hold even when the moderator ignores them, and outages that never count as a check.</summary>
[Collection(ModerationMeterCollection.Name)]
public sealed class ModerationGateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ModerationGate Gate(IModerator moderator, ModerationOutagePolicy onOutage, int window = 20) =>
        new(moderator, Options.Create(new ModerationOptions
        {
            Moderator = ModeratorKind.Simulated,
            ReplyWindowChars = window,
            OnOutage = onOutage,
            Timeout = TimeSpan.FromMilliseconds(200),
        }), NullLogger<ModerationGate>.Instance);

    [Theory]
    [InlineData(ModerationOutagePolicy.FailOpen)]
    [InlineData(ModerationOutagePolicy.FailClosed)]
    public async Task AModeratorThatIgnoresCancellation_IsAnOutageAfterTheTimeout_NotAHang(ModerationOutagePolicy policy)
    {
        var gate = Gate(new HangingModerator(), policy);

        var result = await gate.CheckReplyAsync("some reply", Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        Assert.False(result.Checked);
        Assert.Equal(policy == ModerationOutagePolicy.FailClosed, result.Withheld);
    }

    [Fact]
    public async Task UnderFailOpen_AnOutageOnTheLastWindow_StillLeavesTheFinalCheckToRun()
    {
        var moderator = new ScriptedModerator(); // first call: outage; then flags everything
        var gate = Gate(moderator, ModerationOutagePolicy.FailOpen);
        using var screen = new ReplyScreen(gate, Ct, Ct);
        var text = new StringBuilder("twenty-five characters!!!");

        screen.Observe(text);
        var verdict = await screen.FinishAsync(text.ToString());

        Assert.Equal(2, moderator.Calls);
        Assert.True(verdict.Flagged);
    }

    [Fact]
    public async Task AWindowCheckWithAVerdict_CoversTheText_SoTheFinalCheckIsSkipped()
    {
        var moderator = new ScriptedModerator { OutageFirst = false, Flag = false };
        var gate = Gate(moderator, ModerationOutagePolicy.FailOpen);
        using var screen = new ReplyScreen(gate, Ct, Ct);
        var text = new StringBuilder("twenty-five characters!!!");

        screen.Observe(text);
        var verdict = await screen.FinishAsync(text.ToString());

        Assert.Equal(1, moderator.Calls);
        Assert.False(verdict.Blocks);
    }

    [Fact]
    public async Task WindowChecks_SendOnlyTheNewTextAndAnOverlap_AndTheFinalCheckSendsTheWholeText()
    {
        var moderator = new RecordingModerator();
        var gate = Gate(moderator, ModerationOutagePolicy.FailOpen, window: 40);
        using var screen = new ReplyScreen(gate, Ct, Ct);
        var text = new StringBuilder();
        for (var i = 0; i < 200; i++)
        {
            text.Append("word ");
            screen.Observe(text);
        }

        await screen.FinishAsync(text.ToString());

        var inputs = moderator.Inputs;
        Assert.True(inputs.Count > 10, $"only {inputs.Count} checks");
        Assert.All(inputs.SkipLast(1), input => Assert.True(input.Length <= 40 + ReplyScreen.Overlap(40) + 5, $"a window check sent {input.Length} characters"));
        Assert.Equal(text.ToString(), inputs[^1]);
    }

    private sealed class RecordingModerator : IModerator
    {
        private readonly List<string> _inputs = [];

        public List<string> Inputs
        {
            get
            {
                lock (_inputs)
                {
                    return [.. _inputs];
                }
            }
        }

        public string Name => "recording";

        public Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken)
        {
            lock (_inputs)
            {
                _inputs.Add(text);
            }

            return Task.FromResult(ModerationVerdict.Clean);
        }
    }

    private sealed class HangingModerator : IModerator
    {
        public string Name => "hanging";

        public Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken) =>
            new TaskCompletionSource<ModerationVerdict>().Task;
    }

    private sealed class ScriptedModerator : IModerator
    {
        private int _calls;

        public bool OutageFirst { get; init; } = true;

        public bool Flag { get; init; } = true;

        public int Calls => Volatile.Read(ref _calls);

        public string Name => "scripted";

        public Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _calls) == 1 && OutageFirst
                ? throw new ModerationUnavailableException("scripted outage")
                : Task.FromResult(Flag ? ModerationVerdict.FlaggedAs("violence") : ModerationVerdict.Clean);
    }
}
