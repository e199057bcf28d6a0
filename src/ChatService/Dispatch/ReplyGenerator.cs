using System.Diagnostics;
using System.Text;
using ChatService.Chats;
using ChatService.Inference;
using ChatService.Resilience;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Generates one owed reply: builds the prompt, streams the model's tokens into the reply's
/// hub stream, and stores the outcome with its model-call log in one commit. A reply this
/// replica no longer owns (settled, cancelled or claimed elsewhere) is never stored twice.
/// </summary>
public sealed partial class ReplyGenerator(
    IReplyLedger store,
    ReplyContextLoader contexts,
    ReplyHub hub,
    ModelRouter router,
    SettleGate settleGate,
    RetryPolicyFactory retries,
    IOptions<DispatchOptions> dispatchOptions,
    IOptions<ChatOptions> chatOptions,
    TimeProvider timeProvider,
    ILogger<ReplyGenerator> logger)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    // Bounded by attempts rather than a deadline: time spent waiting at the settle gate is not a
    // storage failure and must not use the budget up. Three attempts of at most SettleTimeout each.
    private readonly RetryPolicy _settleRetry = retries.Create(new RetryPolicyOptions
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

    private DispatchOptions Options => dispatchOptions.Value;

    /// <param name="caller">The trace context of the request that owed the reply; default for recovered replies.</param>
    /// <param name="abandon">Cancelled when shutdown gives up on replies in flight: leave the reply owed.</param>
    public async Task GenerateAsync(ReplyKey key, DateTimeOffset queuedAt, ActivityContext caller, CancellationToken abandon)
    {
        using var scope = logger.BeginScope(new ChatLogScope(key.ChatId, key.Seq, key.CandidateId));
        using var span = DispatchTracing.StartGeneration(key, caller, timeProvider.GetUtcNow() - queuedAt);
        var stream = hub.Open(key, pendingTurn: null, out _);
        using var generation = CancellationTokenSource.CreateLinkedTokenSource(abandon);
        if (!stream.TryAttachGeneration(generation))
        {
            DispatchTracing.Outcome(span, "already_generating");
            return;
        }
        try
        {
            // The lease this job was queued under may have run out while it waited (a backlog, or
            // earlier replies of the same job): then make sure it is still ours before generating.
            var lease = chatOptions.Value.ReplyLease;
            if (timeProvider.GetUtcNow() - queuedAt > lease / 3)
            {
                var status = await store.RenewLeaseAsync(key, abandon);
                if (status == LeaseStatus.Lost)
                {
                    // Its new owner stores it; readers follow it in storage.
                    DispatchTracing.Outcome(span, "handed_over");
                    stream.Abandon();
                    return;
                }

                if (status == LeaseStatus.CancelRequested)
                {
                    await SettleAsync(stream, new ReplyOutcome(key, ReplyState.Cancelled, "", ReplyFailureCode.Cancelled, "cancelled by the user", []), userId: null, span);
                    return;
                }
            }

            var context = await contexts.LoadAsync(key, Options.PromptWindowTurns, abandon);
            if (context is null || !context.IsOwedBy(chatOptions.Value.ReplicaId))
            {
                DispatchTracing.Outcome(span, "not_owed_here");
                await FinishFromStorageAsync(stream, context?.UserId);
                return;
            }

            var prompt = PromptBuilder.Build(
                context.Speaker.Persona,
                context.Speaker.Id,
                context.WindowOldestFirst.Select(t => new PromptTurn(t.Role == AuthorRole.User, t.CharacterId, t.Text)).ToList(),
                context.Cast.ToDictionary(c => c.Key, c => c.Value.DisplayName),
                Options.PromptBudgetChars);

            using var leaseKeeper = new LeaseKeeper(store, stream, chatOptions.Value.ReplyLease, timeProvider, generation);
            var (text, calls, finished) = await StreamAsync(stream, context.Speaker, prompt, queuedAt, generation.Token);

            if (abandon.IsCancellationRequested || leaseKeeper.Lost)
            {
                // Shutdown, or another replica took the reply over: it stays owed, and its owner stores it.
                DispatchTracing.Outcome(span, "handed_over");
                // A lease another replica now holds is not ours to release.
                if (!leaseKeeper.Lost)
                {
                    await ReleaseAsync(key);
                }

                stream.Abandon();
                return;
            }

            var outcome = stream.CancelRequested
                ? new ReplyOutcome(key, ReplyState.Cancelled, text, ReplyFailureCode.Cancelled, "cancelled by the user", calls)
                : finished.Succeeded
                    ? new ReplyOutcome(key, ReplyState.Complete, text, null, null, calls)
                    : new ReplyOutcome(key, ReplyState.Failed, text, finished.FailureCode, finished.FailureReason, calls);
            await SettleAsync(stream, outcome, context.UserId, span);
        }
        catch (Exception ex)
        {
            DispatchTracing.Outcome(span, "left_owed", abandon.IsCancellationRequested ? null : ex.GetType().Name);
            // Shutdown gave up on it, storage failed, or a bug: the reply stays owed and is generated
            // again by recovery. Readers of this stream follow it in storage from here on.
            if (!abandon.IsCancellationRequested)
            {
                Log.GenerationFailed(logger, key.ToString(), ex);
            }

            await ReleaseAsync(key);
            stream.Abandon();
        }
    }

    private async Task<(string Text, List<ModelCallRecord> Calls, GenerationFinished Finished)> StreamAsync(
        ReplyStream stream, Character speaker, IReadOnlyList<Microsoft.Extensions.AI.ChatMessage> prompt, DateTimeOffset queuedAt, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var calls = new List<ModelCallRecord>();
        var started = false;
        GenerationFinished finished = new(false, ReplyFailureCode.Interrupted, "the model stream ended without an outcome");
        await foreach (var update in router.GenerateAsync(new GenerationRequest(speaker.ModelRoute, prompt), cancellationToken))
        {
            switch (update)
            {
                case AttemptStarted when !started:
                    started = true;
                    stream.Publish(ReplyUpdateKind.Started, characterId: speaker.Id);
                    break;
                case TextDelta delta when delta.Text.Length > 0:
                    if (text.Length == 0)
                    {
                        DispatchMetrics.FirstToken(timeProvider.GetUtcNow() - queuedAt);
                    }

                    text.Append(delta.Text);
                    stream.Publish(ReplyUpdateKind.Delta, text: delta.Text);
                    break;
                case AttemptFinished attempt:
                    var call = attempt.Call;
                    calls.Add(new ModelCallRecord(call.Backend, call.Model, call.Outcome, call.Error, queuedAt, call.StartedAt,
                        call.FirstTokenAt, call.FinishedAt, call.PromptTokens, call.CompletionTokens));
                    break;
                case GenerationFinished end:
                    finished = end;
                    break;
            }
        }

        return (text.ToString(), calls, finished);
    }

    private async Task SettleAsync(ReplyStream stream, ReplyOutcome outcome, string? userId, Activity? span)
    {
        var stored = await SettleWithRetriesAsync(outcome);
        if (stored is null)
        {
            // Someone settled it first (e.g. CancelReply raced us, or a replica that took it over).
            DispatchTracing.Outcome(span, "settled_elsewhere");
            await FinishFromStorageAsync(stream, userId);
            return;
        }

        DispatchTracing.Outcome(span, outcome.State.ToString().ToLowerInvariant(), outcome.State == ReplyState.Failed ? ReplyFailureCodes.Name(outcome.FailureCode) : null);
        DispatchMetrics.ReplySettled(outcome.State.ToString());
        if (outcome.State == ReplyState.Complete)
        {
            stream.Publish(ReplyUpdateKind.Completed, turn: stored.Reply);
        }
        else
        {
            stream.Publish(ReplyUpdateKind.Failed, turn: stored.Reply, failureCode: outcome.FailureCode, failureReason: outcome.FailureReason);
        }
    }

    /// <summary>
    /// Stores the outcome, retrying storage failures a few times (settling is conditional, so a
    /// repeat after an unknown outcome stores nothing twice) before giving the reply up to recovery.
    /// </summary>
    private Task<SettledReply?> SettleWithRetriesAsync(ReplyOutcome outcome) =>
        _settleRetry.ExecuteAsync(
            // The timeout starts once a slot is free: waiting behind other settles is not a storage failure.
            _ => settleGate.RunAsync(async () =>
            {
                using var timeout = new CancellationTokenSource(SettleTimeout, timeProvider);
                return await store.SettleReplyAsync(outcome, timeout.Token);
            }),
            retry => Log.SettleRetry(logger, outcome.Key.ToString(), retry.Attempt, retry.Failure.Message, retry.Delay),
            CancellationToken.None);

    /// <summary>Ends the stream with whatever storage holds for the reply.</summary>
    private async Task FinishFromStorageAsync(ReplyStream stream, string? userId)
    {
        var key = stream.Key;
        var turn = userId is null ? null : await store.GetReplyAsync(userId, key.ChatId, key.Seq, key.CandidateId, CancellationToken.None);
        if (turn is null)
        {
            stream.Publish(ReplyUpdateKind.Failed, failureCode: ReplyFailureCode.NotFound, failureReason: "the reply no longer exists");
        }
        else if (turn.State is ReplyState.Complete or ReplyState.Failed or ReplyState.Cancelled)
        {
            var final = ReplyUpdate.FinalOf(turn, sequence: 0);
            stream.Publish(final.Kind, turn: turn, failureCode: final.FailureCode, failureReason: final.FailureReason);
        }
        else
        {
            // Owed by another replica: readers fall back to storage and follow it there.
            stream.Abandon();
        }
    }

    /// <summary>Gives up a reply this replica holds but will not generate: lease released, stream abandoned.</summary>
    public async Task HandOverAsync(ReplyKey key)
    {
        await ReleaseAsync(key);
        if (hub.TryGet(key, out var stream))
        {
            stream.Abandon();
        }
    }

    private async Task ReleaseAsync(ReplyKey key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), timeProvider);
            await store.ReleaseLeaseAsync(key, timeout.Token);
        }
        catch (Exception ex)
        {
            // The lease then simply runs out; recovery is only later.
            Log.ReleaseFailed(logger, key.ToString(), ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Error, "Generating reply {Reply} failed; it stays owed.")]
        public static partial void GenerationFailed(ILogger logger, string reply, Exception exception);

        [LoggerMessage(3103, LogLevel.Warning, "Storing reply {Reply} failed (attempt {Attempt}): {Message}. Retrying in {Delay}.")]
        public static partial void SettleRetry(ILogger logger, string reply, int attempt, string message, TimeSpan delay);

        [LoggerMessage(3102, LogLevel.Warning, "Could not release the lease of reply {Reply}.")]
        public static partial void ReleaseFailed(ILogger logger, string reply, Exception exception);
    }
}
