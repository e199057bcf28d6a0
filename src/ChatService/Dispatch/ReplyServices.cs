using ChatService.Chats;
using ChatService.Inference;
using ChatService.Resilience;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>What every <see cref="OwnedReply"/> of this replica works with: storage, prompts, models, the shared log.</summary>
public sealed partial class ReplyServices
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    private readonly SettleGate _settleGate;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> _drains = new();
    private readonly RetryPolicy _settleRetry;

    public ReplyServices(
        IReplyLedger ledger,
        ReplyContextLoader contexts,
        ModelRouter router,
        SettleGate settleGate,
        IReplyLog log,
        Memory.SummaryScheduler summaries,
        Moderation.ModerationGate moderation,
        RetryPolicyFactory retries,
        IOptions<DispatchOptions> dispatchOptions,
        IOptions<ChatOptions> chatOptions,
        TimeProvider timeProvider,
        ILogger<OwnedReply> logger)
    {
        Ledger = ledger;
        Contexts = contexts;
        Router = router;
        Log = log;
        Summaries = summaries;
        Moderation = moderation;
        Options = dispatchOptions.Value;
        Lease = chatOptions.Value.ReplyLease;
        ReplicaId = chatOptions.Value.ReplicaId;
        TimeProvider = timeProvider;
        Logger = logger;
        _settleGate = settleGate;
        // Bounded by attempts rather than a deadline: time spent waiting at the settle gate is not a
        // storage failure and must not use the budget up. Three attempts of at most SettleTimeout each.
        _settleRetry = retries.Create(new RetryPolicyOptions
        {
            Name = "reply-settle",
            // Settling is conditional, so repeating one whose commit ended with an unknown outcome (UNKNOWN,
            // DEADLINE_EXCEEDED, a timeout) stores nothing twice: retry every storage failure but a
            // statement the store rejects, not only what is safe to retry blindly.
            ShouldRetry = ex => ex is StorageException { Kind: not StorageErrorKind.Rejected } or OperationCanceledException,
            InitialDelay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
            MaxServerDelay = TimeSpan.FromSeconds(2),
            MaxAttempts = 3,
        });
    }

    public IReplyLedger Ledger { get; }

    public ReplyContextLoader Contexts { get; }

    public ModelRouter Router { get; }

    public IReplyLog Log { get; }

    /// <summary>Where a generated reply hands its context for the rolling summary's trigger (never waited for).</summary>
    public Memory.SummaryScheduler Summaries { get; }

    /// <summary>The moderation step replies pass through on the stream and at the end (see <see cref="ReplyScreen"/>).</summary>
    public Moderation.ModerationGate Moderation { get; }

    public DispatchOptions Options { get; }

    public TimeSpan Lease { get; }

    public string ReplicaId { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    /// <summary>Keeps a reply's final log drain until it ends, so that shutdown can wait for it.</summary>
    public void TrackDrain(Task drain)
    {
        if (drain.IsCompleted)
        {
            return;
        }

        _drains.TryAdd(drain, 0);
        _ = drain.ContinueWith(d => _drains.TryRemove(d, out _), TaskScheduler.Default);
    }

    /// <summary>Waits, at most <paramref name="bound"/>, for the final events still on their way to the shared log.</summary>
    public Task DrainsAsync(TimeSpan bound) =>
        Task.WhenAny(Task.WhenAll(_drains.Keys.ToArray()), Task.Delay(bound, TimeProvider));

    /// <summary>
    /// Stores the outcome, retrying storage failures a few times (settling is conditional, so a
    /// repeat after an unknown outcome stores nothing twice) before giving the reply up to recovery.
    /// Null when the reply was not this replica's to settle.
    /// </summary>
    public Task<SettledReply?> SettleAsync(ReplyOutcome outcome) =>
        _settleRetry.ExecuteAsync(
            // The timeout starts once a slot is free: waiting behind other settles is not a storage failure.
            _ => _settleGate.RunAsync(async () =>
            {
                using var timeout = new CancellationTokenSource(SettleTimeout, TimeProvider);
                return await Ledger.SettleReplyAsync(outcome, timeout.Token);
            }),
            retry => Logs.SettleRetry(Logger, outcome.Key.ToString(), retry.Attempt, retry.Failure.Message, retry.Delay),
            CancellationToken.None);

    private static partial class Logs
    {
        [LoggerMessage(3103, LogLevel.Warning, "Storing reply {Reply} failed (attempt {Attempt}): {Message}. Retrying in {Delay}.")]
        public static partial void SettleRetry(ILogger logger, string reply, int attempt, string message, TimeSpan delay);
    }
}
