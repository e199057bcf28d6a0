using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Rewinding, deleting and restoring turns: the store hides or shows them, and the replies still
/// generating among hidden turns are cancelled (their partial text is stored, hidden with its turn).
/// Rating candidates, pinning turns, editing turns and listing their earlier texts go straight to
/// the store (EditAndRegenerate, which owes a reply, is the <see cref="ReplyPipeline"/>'s).
/// </summary>
public sealed partial class ChatShaping(IChatStore store, ReplyPipeline pipeline, Moderation.ModerationGate moderation, Limits.UserLimiter limits, ILogger<ChatShaping> logger)
{
    /// <summary>The most turns one DeleteTurns or RestoreTurns call names.</summary>
    public const int MaxTurnsPerCall = 100;

    public async Task<HiddenTurns> RewindAsync(string userId, string chatId, long toSeq, string requestId, CancellationToken cancellationToken)
    {
        var hidden = await store.RewindAsync(userId, chatId, toSeq, requestId, cancellationToken);
        await CancelAsync(userId, hidden, cancellationToken);
        return hidden;
    }

    public async Task<HiddenTurns> DeleteAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken)
    {
        var hidden = await store.DeleteTurnsAsync(userId, chatId, seqs, cancellationToken);
        await CancelAsync(userId, hidden, cancellationToken);
        return hidden;
    }

    public Task<Chat> ForkAsync(string userId, string chatId, long atSeq, string requestId, string? title, CancellationToken cancellationToken) =>
        store.ForkAsync(userId, chatId, atSeq, requestId, title, cancellationToken);

    public Task<IReadOnlyList<long>> RestoreAsync(string userId, string chatId, IReadOnlyList<long> seqs, CancellationToken cancellationToken) =>
        store.RestoreTurnsAsync(userId, chatId, seqs, cancellationToken);

    public Task<TurnRating> RateAsync(string userId, string chatId, long seq, string? candidateId, TurnRating rating, CancellationToken cancellationToken) =>
        store.RateCandidateAsync(userId, chatId, seq, candidateId, rating, cancellationToken);

    public Task<Chat> PinAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        store.PinTurnAsync(userId, chatId, seq, cancellationToken);

    public Task<Chat> UnpinAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        store.UnpinTurnAsync(userId, chatId, seq, cancellationToken);

    /// <summary>Edits a turn's text; the new text is the user's own words, so it is moderated as a message is (refused before anything is written).</summary>
    public async Task<TurnEdit> EditAsync(string userId, string chatId, long seq, string text, string requestId, CancellationToken cancellationToken)
    {
        // Moderated, one read comes first: the request id's record, and the caller's own turn (refused as the edit
        // would be: NOT_FOUND for another user's chat or a missing turn, FAILED_PRECONDITION for a hidden one), so the
        // classifier is never spent on those. A retry of an edit applied already is answered from its record: no
        // token, no classifier call (its text was checked when it was applied; a refusal now would be false).
        // Each check is a classifier call: an edit that makes one draws on the user's send bucket, as a
        // message does (EditAndRegenerate is admitted as a send already), so edits cannot call it without bound.
        // Unmoderated, the edit's own transaction refuses the same things: nothing is read before it.
        if (moderation.ScreensUserText && !await store.EditTurnRecordedAsync(userId, chatId, seq, requestId, cancellationToken))
        {
            limits.AdmitClassifierCall(userId, "EditTurn");
            await moderation.CheckUserTextAsync(text, "text", cancellationToken);
        }

        return await store.EditTurnAsync(userId, chatId, seq, text, requestId, cancellationToken);
    }

    public Task<IReadOnlyList<TextRevision>> ListRevisionsAsync(string userId, string chatId, long seq, CancellationToken cancellationToken) =>
        store.ListTurnRevisionsAsync(userId, chatId, seq, cancellationToken);

    /// <summary>
    /// Cancels the hidden turns' owed replies, each as CancelReply would, and waits for them to be stored.
    /// The turns are hidden already: a cancel that fails only lets a reply finish unseen, so it is logged,
    /// not thrown.
    /// </summary>
    private async Task CancelAsync(string userId, HiddenTurns hidden, CancellationToken cancellationToken)
    {
        // The hide committed with a durable cancel request; these signals only make it quick. They are not
        // bound to the caller (who may be gone), only to a bound of their own.
        var bound = new CancellationTokenSource(CancelBound);
        var waits = hidden.OwedReplies.Select(async key =>
        {
            try
            {
                await pipeline.CancelAsync(userId, key.ChatId, key.Seq, key.CandidateId, bound.Token);
            }
            catch (Exception ex)
            {
                Log.CancelFailed(logger, key.ToString(), ex);
            }
        }).ToList();
        var all = Task.WhenAll(waits);
        _ = all.ContinueWith(_ => bound.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        await all.WaitAsync(cancellationToken);
    }

    private static readonly TimeSpan CancelBound = TimeSpan.FromSeconds(15);

    private static partial class Log
    {
        [LoggerMessage(3101, LogLevel.Warning, "Could not cancel hidden reply {Reply}; it finishes unseen.")]
        public static partial void CancelFailed(ILogger logger, string reply, Exception exception);
    }
}
