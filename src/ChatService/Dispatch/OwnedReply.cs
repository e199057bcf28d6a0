using System.Diagnostics;
using System.Text;
using ChatService.Chats;
using ChatService.Inference;

namespace ChatService.Dispatch;

/// <summary>
/// A reply this replica owns, from the moment it is opened (recorded here, or claimed by recovery)
/// until it is closed: settled here, or handed over to another replica. It holds the reply's
/// stream, the copy of that stream to the shared log, the lease, the generation and its cancel.
/// It is closed exactly once, through <see cref="Finish"/> (a final event) or
/// <see cref="HandOverAsync"/> (no final event: the reply stays owed for another replica).
/// </summary>
public sealed partial class OwnedReply
{
    /// <summary>How long closing waits for the last events to reach the shared log.</summary>
    private static readonly TimeSpan LogDrainBound = TimeSpan.FromSeconds(2);

    private readonly ReplyServices _services;
    private readonly ReplyLogWriter _log;
    private readonly Lock _gate = new();
    private CancellationTokenSource? _generation;
    private int _closed;

    internal OwnedReply(ReplyKey key, int attempt, ReplyServices services)
    {
        Key = key;
        Attempt = attempt;
        _services = services;
        Stream = new ReplyStream(key);
        _log = new ReplyLogWriter(services.Log, Stream, attempt, services.Options, services.TimeProvider, services.Logger);
        Stages = services.Options.StageTimings && attempt == 1 ? new ReplyStages() : null;
    }

    /// <summary>The wall-clock marks of a first attempt's first token path, with <c>Dispatch:StageTimings</c>; null without.</summary>
    public ReplyStages? Stages { get; }

    /// <summary>Called once the hub has registered it: a new reply's log starts with its Accepted event.</summary>
    internal void Open(ChatTurn? pendingTurn)
    {
        if (Attempt == 1)
        {
            Stream.Publish(ReplyUpdateKind.Accepted, turn: pendingTurn);
            Stages?.Mark(ReplyStage.Opened);
            _log.Start(alreadyLogged: 0);
        }

        // A later attempt continues the log once it starts generating (ContinueLogAsync).
    }

    public ReplyKey Key { get; }

    /// <summary>1 for the first generation of the reply, one more for each recovery or handover.</summary>
    public int Attempt { get; }

    public ReplyStream Stream { get; }

    /// <summary>True when the user asked to stop generation (CancelReply).</summary>
    public bool CancelRequested { get; private set; }

    /// <summary>Completes when the reply is closed here.</summary>
    public Task Ended => Stream.Ended;

    /// <summary>
    /// Stops the generation running here, which then stores what it has. False when none is running
    /// (queued, or already closed).
    /// </summary>
    public bool RequestCancel()
    {
        lock (_gate)
        {
            if (Stream.IsEnded || _generation is null)
            {
                return false;
            }

            CancelRequested = true;
            try
            {
                _generation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Generation finished in the meantime; its outcome is what is stored.
            }
        }

        return true;
    }

    /// <param name="queuedAt">When the reply was queued here.</param>
    /// <param name="caller">The trace context of the request that owed the reply; default for recovered replies.</param>
    /// <param name="abandon">Cancelled when shutdown gives up on replies in flight: hand the reply over.</param>
    public async Task GenerateAsync(DateTimeOffset queuedAt, ActivityContext caller, CancellationToken abandon)
    {
        var services = _services;
        using var scope = services.Logger.BeginScope(new ChatLogScope(Key.ChatId, Key.Seq, Key.CandidateId));
        using var span = DispatchTracing.StartGeneration(Key, caller, services.TimeProvider.GetUtcNow() - queuedAt);
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(abandon);
        lock (_gate)
        {
            if (Stream.IsEnded || _generation is not null)
            {
                DispatchTracing.Outcome(span, "already_generating");
                return;
            }

            _generation = generation;
        }

        var stages = Stages;
        stages?.Mark(ReplyStage.WorkerStarted);
        LeaseKeeper? leaseKeeper = null;
        try
        {
            // The lease this job was queued under may have run out while it waited (a backlog, or
            // earlier replies of the same job): then make sure it is still ours before generating,
            // and before a later attempt writes anything to the reply's log.
            if (services.TimeProvider.GetUtcNow() - queuedAt > services.Lease / 3)
            {
                var status = await services.Ledger.RenewLeaseAsync(Key, abandon);
                if (status == LeaseStatus.Lost)
                {
                    // Its new owner stores it; readers follow it there.
                    DispatchTracing.Outcome(span, "handed_over");
                    await HandOverAsync(releaseLease: false);
                    return;
                }

                if (status == LeaseStatus.CancelRequested)
                {
                    await SettleAsync(new ReplyOutcome(Key, ReplyState.Cancelled, "", ReplyFailureCode.Cancelled, "cancelled by the user", []), userId: null, span);
                    return;
                }
            }

            if (Attempt > 1)
            {
                await ContinueLogAsync();
            }

            var context = await services.Contexts.LoadAsync(Key, services.Options.PromptWindowTurns, stages, abandon);
            if (context is null || !context.IsOwedBy(services.ReplicaId) || context.Reply.Continuations != Key.Continuation)
            {
                DispatchTracing.Outcome(span, "not_owed_here");
                await FinishFromStorageAsync(context?.UserId);
                return;
            }

            var budget = services.Router.BudgetFor(context.Speaker.ModelRoute);
            // A continuation's prompt ends with the reply's text so far as the assistant's (a prefill);
            // its settle appends what is generated now to that text.
            var prompt = ReplyPrompt.Build(context, services.Options, budget, prefill: Key.Continuation > 0 ? context.Reply.Text : null);
            stages?.Mark(ReplyStage.PromptBuilt);
            if (Key.Continuation > 0 && (prompt.Messages.Count == 0 || prompt.Messages[^1].Role != Microsoft.Extensions.AI.ChatRole.Assistant))
            {
                // Without the text it goes on from, the model would write a fresh reply and the settle
                // would append it to the old: the continuation fails, the text as it was, no model called.
                DispatchTracing.Outcome(span, "no_prefill");
                await SettleAsync(new ReplyOutcome(Key, ReplyState.Failed, "", ReplyFailureCode.Failed,
                    "the reply's text so far did not fit its prompt, so it was not continued", []), context.UserId, span);
                return;
            }

            leaseKeeper = LeaseKeeper.ForReply(services.Ledger, this, services.Lease, services.TimeProvider, generation);
            using var screen = services.Moderation.ScreensReplies ? new ReplyScreen(services.Moderation, generation.Token, abandon) : null;
            var (text, calls, finished) = await StreamAsync(context.Speaker, prompt.Messages, budget.ReplyReserveTokens, queuedAt, screen, generation.Token);

            // The final text is checked while the lease is still renewed: a slow moderator must not cost the reply its lease.
            var verdict = screen is null || abandon.IsCancellationRequested || leaseKeeper.Lost || _log.Fenced
                ? Moderation.ReplyScreenResult.Clean
                : await screen.FinishAsync(text);

            // No renewal may land after a release or race the settle commit.
            await leaseKeeper.StopAsync();
            if (abandon.IsCancellationRequested || leaseKeeper.Lost || _log.Fenced)
            {
                // Shutdown, or another replica took the reply over: it stays owed, and its owner
                // stores it. A lease another replica now holds is not ours to release.
                DispatchTracing.Outcome(span, "handed_over");
                await HandOverAsync(releaseLease: !leaseKeeper.Lost && !_log.Fenced);
                return;
            }

            // Moderation comes first: a flagged text is withheld however the generation ended (a cancel
            // or a failure would otherwise store and show the partial text).
            var outcome = (verdict.Flagged
                ? new ReplyOutcome(Key, ReplyState.Filtered, "", ReplyFailureCode.Filtered, $"withheld by moderation (category: {verdict.Category})",
                    Withheld(calls, $"flagged by moderation: {verdict.Category}")) { FilterCategory = verdict.Category }
                : verdict.Withheld
                    ? new ReplyOutcome(Key, ReplyState.Failed, "", ReplyFailureCode.ModerationUnavailable, "moderation was unavailable, so the reply was withheld",
                        Withheld(calls, "moderation was unavailable (fail-closed)"))
                    : CancelRequested
                        ? new ReplyOutcome(Key, ReplyState.Cancelled, text, ReplyFailureCode.Cancelled, "cancelled by the user", calls)
                        : finished.Succeeded
                            ? new ReplyOutcome(Key, ReplyState.Complete, text, null, null, calls)
                            : new ReplyOutcome(Key, ReplyState.Failed, text, finished.FailureCode, finished.FailureReason, calls))
                with { Prompt = prompt, StorePromptMaxBytes = services.Options.StorePrompts ? services.Options.StoredPromptMaxBytes : null };
            if (verdict.Blocks)
            {
                Log.Withheld(services.Logger, Key.ToString(), verdict.Category ?? "moderation unavailable", text.Length);
            }

            await SettleAsync(outcome, context.UserId, span);

            // After the reply's own commits, and only queued: turns that fell out of this prompt (its
            // window or its token budget) may make the chat's summary due (a background job; see SummaryScheduler).
            services.Summaries.Consider(context, prompt);
        }
        catch (Exception ex)
        {
            DispatchTracing.Outcome(span, "left_owed", abandon.IsCancellationRequested ? null : ex.GetType().Name);
            // Shutdown gave up on it, storage failed, or a bug: the reply stays owed and is generated
            // again by recovery, here or elsewhere.
            if (!abandon.IsCancellationRequested)
            {
                Log.GenerationFailed(services.Logger, Key.ToString(), ex);
            }

            if (leaseKeeper is not null)
            {
                // No renewal may land after the release.
                await leaseKeeper.StopAsync();
            }

            await HandOverAsync(releaseLease: true);
        }
        finally
        {
            leaseKeeper?.Dispose();
            lock (_gate)
            {
                _generation = null;
            }
        }
    }

    /// <summary>
    /// Gives the reply up without a final event: its lease is released (unless another replica
    /// holds it already) so that recovery claims it at once rather than when the lease runs out.
    /// Readers here follow it on from the shared log.
    /// </summary>
    public async Task HandOverAsync(bool releaseLease = true)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        // Everything generated so far reaches the log before another replica can claim the reply
        // and continue it there: its Restarted event then follows the last event callers saw.
        Stream.Abandon();
        await _log.CompleteAsync(LogDrainBound);
        if (releaseLease)
        {
            await ReleaseAsync();
        }
    }

    /// <summary>
    /// The model calls of a reply moderation withheld, the last one (whose output it was) logged with
    /// the <c>filtered</c> outcome and why, so the model-call log says what happened to the text.
    /// </summary>
    private static List<ModelCallRecord> Withheld(List<ModelCallRecord> calls, string why)
    {
        if (calls.Count > 0)
        {
            calls[^1] = calls[^1] with { Outcome = ModelCallOutcomes.Filtered, Error = why };
        }

        return calls;
    }

    /// <summary>Ends the reply with its final event, which the log receives too.</summary>
    /// <param name="withdrawText">The stored text is not what was streamed (withheld by moderation): a Restarted tells followers to drop it first.</param>
    private void Finish(ReplyUpdateKind kind, ChatTurn? turn, ReplyFailureCode? failureCode = null, string? failureReason = null, bool withdrawText = false)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        if (withdrawText && StoredEnding.ShownText(Stream.Snapshot(0)).Length > 0)
        {
            Stream.Publish(ReplyUpdateKind.Restarted, text: "withheld by moderation; the text streamed so far is withdrawn");
        }

        var final = Stream.Publish(kind, turn: turn, failureCode: failureCode, failureReason: failureReason);
        if (withdrawText)
        {
            // The log would replay the withheld text to any follower for Dispatch:LogRetention:
            // once the final event is there (for the followers reading it now), the log goes, and
            // later followers find the outcome in storage, which has no text.
            _services.TrackDrain(DrainThenDeleteLogAsync());
            return;
        }

        DrainInBackground(final);
    }

    private async Task DrainThenDeleteLogAsync()
    {
        await _log.CompleteAsync(LogDrainBound);
        if (!_log.Started)
        {
            return;
        }

        try
        {
            await _services.Log.DeleteAsync(Key);
        }
        catch (ReplyLogUnavailableException ex)
        {
            // Its followers still never get the text: they drop the deltas of a withheld reply (ReplyPipeline.FollowBatchesAsync).
            Log.LogDeleteFailed(_services.Logger, Key.ToString(), ex.Message);
        }
    }

    /// <summary>
    /// A new attempt continues the reply's log: the events earlier attempts wrote are this
    /// stream's beginning, and a Restarted event, at the start of this attempt's own range of
    /// sequences, tells followers to drop their text. Without a readable log the stream starts
    /// with that Restarted event, which the log accepts after whatever it holds.
    /// </summary>
    private async Task ContinueLogAsync()
    {
        var services = _services;
        var earlier = ReplyLogRead.None;
        try
        {
            earlier = await services.Log.ReadAsync(Key, afterSequence: 0);
        }
        catch (Exception ex) when (ex is ReplyLogUnavailableException or InvalidOperationException)
        {
            Log.LogUnreadable(services.Logger, Key.ToString(), ex.Message);
        }

        try
        {
            Stream.Append(earlier.Events.Where(e => !e.IsFinal));
        }
        catch (InvalidOperationException)
        {
            // A log with a hole (trimmed or damaged): this attempt's own range starts the stream.
        }

        var alreadyLogged = Stream.LastSequence;
        Stream.PublishRestart(ReplyUpdate.AttemptStart(Attempt), Attempt, "the replica generating it stopped; generating it again");
        _log.Start(alreadyLogged);
    }

    /// <param name="screen">The reply's moderation, when replies are moderated: it sees the text after each delta and may stop the generation.</param>
    private async Task<(string Text, List<ModelCallRecord> Calls, GenerationFinished Finished)> StreamAsync(
        Character speaker, IReadOnlyList<Microsoft.Extensions.AI.ChatMessage> prompt, int maxOutputTokens, DateTimeOffset queuedAt, ReplyScreen? screen,
        CancellationToken cancellationToken)
    {
        if (screen is not null)
        {
            cancellationToken = screen.Stop;
        }

        var text = new StringBuilder();
        var calls = new List<ModelCallRecord>();
        var started = false;
        GenerationFinished finished = new(false, ReplyFailureCode.Interrupted, "the model stream ended without an outcome");
        await foreach (var update in _services.Router.GenerateAsync(new GenerationRequest(speaker.ModelRoute, prompt, MaxOutputTokens: maxOutputTokens, Variant: Key.CandidateId, ContinuesFinalMessage: Key.Continuation > 0), cancellationToken))
        {
            switch (update)
            {
                case AttemptStarted when !started:
                    started = true;
                    Stages?.Mark(ReplyStage.AttemptStarted);
                    Stream.Publish(ReplyUpdateKind.Started, characterId: speaker.Id);
                    break;
                case TextDelta delta when delta.Text.Length > 0:
                    var first = text.Length == 0;
                    if (first)
                    {
                        Stages?.Mark(ReplyStage.FirstToken);
                        DispatchMetrics.FirstToken(_services.TimeProvider.GetUtcNow() - queuedAt);
                    }

                    text.Append(delta.Text);
                    Stream.Publish(ReplyUpdateKind.Delta, text: delta.Text);
                    if (first)
                    {
                        Stages?.Mark(ReplyStage.FirstDeltaPublished);
                    }
                    screen?.Observe(text);
                    break;
                case AttemptFinished attempt:
                    var call = attempt.Call;
                    calls.Add(call.ToRecord(queuedAt));
                    break;
                case GenerationFinished end:
                    finished = end;
                    break;
            }
        }

        return (text.ToString(), calls, finished);
    }

    private async Task SettleAsync(ReplyOutcome outcome, string? userId, Activity? span)
    {
        var stored = await _services.SettleAsync(outcome);
        if (stored is null)
        {
            // Someone settled it first (e.g. CancelReply raced us, or a replica that took it over).
            DispatchTracing.Outcome(span, "settled_elsewhere");
            await FinishFromStorageAsync(userId);
            return;
        }

        DispatchTracing.Outcome(span, outcome.State.ToString().ToLowerInvariant(),
            outcome.State is ReplyState.Failed or ReplyState.Filtered ? ReplyFailureCodes.Name(outcome.FailureCode) : null);
        DispatchMetrics.ReplySettled(outcome.State.ToString());
        if (outcome.State == ReplyState.Complete)
        {
            Finish(ReplyUpdateKind.Completed, stored.Reply);
        }
        else
        {
            Finish(ReplyUpdateKind.Failed, stored.Reply, outcome.FailureCode, outcome.FailureReason,
                withdrawText: ReplyFailureCodes.IsWithheld(outcome.State, outcome.FailureCode));
        }
    }

    /// <summary>Closes the reply with whatever storage holds for it (which another replica may have settled).</summary>
    private async Task FinishFromStorageAsync(string? userId)
    {
        var turn = userId is null ? null : await _services.Ledger.GetReplyAsync(userId, Key.ChatId, Key.Seq, Key.CandidateId, CancellationToken.None);
        if (turn is not null && turn.State is ReplyState.Pending or ReplyState.Streaming)
        {
            // Owed by another replica: readers here follow it there.
            await HandOverAsync(releaseLease: false);
            return;
        }

        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        StoredEnding.Finish(Stream, turn);
        DrainInBackground(Stream.Snapshot(0)[^1]);
    }

    /// <summary>
    /// Ends the reply with what storage holds, for a reply this replica owns but has not started
    /// generating (queued) when a cancel settled it. False when it is generating (its generation
    /// finds the reply settled when it stores it) or was closed already.
    /// </summary>
    public bool EndSettled(ChatTurn settled)
    {
        lock (_gate)
        {
            // Under the gate a generation attaches by: once this closes the stream, none will.
            if (_generation is not null || Interlocked.Exchange(ref _closed, 1) == 1)
            {
                return false;
            }

            StoredEnding.Finish(Stream, settled);
        }

        DrainInBackground(Stream.Snapshot(0)[^1]);
        return true;
    }

    /// <summary>
    /// The final event reaches the log in the background: the worker is free now (a slow or absent
    /// Redis must not hold replies up); shutdown waits for these drains (bounded). A later attempt
    /// closed before it started copying (settled while queued) ends the log it never wrote to.
    /// </summary>
    private void DrainInBackground(ReplyUpdate final)
    {
        _services.TrackDrain(_log.Started || Attempt == 1
            ? _log.CompleteAsync(LogDrainBound)
            : EndUnstartedLogAsync(final));
    }

    private async Task EndUnstartedLogAsync(ReplyUpdate final)
    {
        try
        {
            await _services.Log.EndAsync(Key, final);
        }
        catch (ReplyLogUnavailableException)
        {
            // Its followers find the outcome in storage when the log stays silent.
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), _services.TimeProvider);
            await _services.Ledger.ReleaseLeaseAsync(Key, timeout.Token);
        }
        catch (Exception ex)
        {
            // The lease then simply runs out; recovery is only later.
            Log.ReleaseFailed(_services.Logger, Key.ToString(), ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Error, "Generating reply {Reply} failed; it stays owed.")]
        public static partial void GenerationFailed(ILogger logger, string reply, Exception exception);

        [LoggerMessage(3102, LogLevel.Warning, "Could not release the lease of reply {Reply}.")]
        public static partial void ReleaseFailed(ILogger logger, string reply, Exception exception);

        [LoggerMessage(3105, LogLevel.Information, "Reply {Reply} was withheld by moderation ({Reason}) after {Characters} characters; it is stored without its text.")]
        public static partial void Withheld(ILogger logger, string reply, string reason, int characters);

        [LoggerMessage(3106, LogLevel.Warning, "Could not delete the reply log of withheld reply {Reply} ({Message}); it expires with Dispatch:LogRetention, and followers drop its text.")]
        public static partial void LogDeleteFailed(ILogger logger, string reply, string message);

        [LoggerMessage(3104, LogLevel.Warning, "Could not read the reply log of {Reply} before generating it again ({Message}); its stream starts with the restart.")]
        public static partial void LogUnreadable(ILogger logger, string reply, string message);
    }
}
