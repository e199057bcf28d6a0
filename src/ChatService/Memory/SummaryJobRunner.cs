using System.Text;
using ChatService.Chats;
using ChatService.Inference;
using ChatService.Storage;
using Microsoft.Extensions.AI;

namespace ChatService.Memory;

/// <summary>What one run of a summary job came to.</summary>
public enum SummaryRunOutcome
{
    /// <summary>A new version of the chat's summary was stored.</summary>
    Stored,

    /// <summary>Nothing was due: the summary covers the span already (or the chat is gone).</summary>
    Covered,

    /// <summary>Another runner holds the chat's lease, or the job waits for its retry delay, or it was tried too often.</summary>
    NotClaimed,

    /// <summary>The commit found the base no longer the latest, or the span's turns changed (a rewind): nothing stored.</summary>
    Lost,

    /// <summary>The model call failed; the job is recorded for a later attempt.</summary>
    Failed,
}

/// <summary>
/// Runs a chat's summary job once: takes the chat's lease in Redis (<see cref="SummaryLeases"/>), reads
/// whether the job is due and its span's shown turns in one Spanner snapshot, asks the summary route to
/// fold them into the previous summary, and stores the result as a new version in one commit that checks
/// the base version and the span again. Every step is safe to repeat or to race: the lease lets one
/// runner call the model at a time, and the conditional commit stores one version per span whatever
/// happens around it (a lease lost to expiry, Redis down, a replica killed mid-job). A stored summary
/// costs Spanner that one commit; a failed call one more (the retry's row and the call log).
/// </summary>
public sealed partial class SummaryJobRunner
{
    private readonly SummaryJobStore _store;
    private readonly SummaryLeases _leases;
    private readonly ModelRouter _router;
    private readonly SummaryOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    internal SummaryJobRunner(SummaryJobStore store, SummaryLeases leases, ModelRouter router, SummaryOptions options, string replicaId, TimeProvider timeProvider, ILogger<SummaryJobRunner> logger)
    {
        _store = store;
        _leases = leases;
        _router = router;
        _options = options;
        ReplicaId = replicaId;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The replica the runner takes leases and stores summaries as.</summary>
    public string ReplicaId { get; }

    /// <summary>
    /// Runs the chat's job for the span through <paramref name="throughSeq"/> (or the longer one a failed job's
    /// row names). <paramref name="knownGeneration"/>: the summary generation of the window whose reply
    /// triggered it (<see cref="ChatMemory.SummaryGeneration"/>), so that a trigger that raced a store of the
    /// span is refused in Redis; <see cref="long.MaxValue"/> for a job no window triggered (the sweep's).
    /// </summary>
    public async Task<SummaryRunOutcome> RunAsync(string chatId, long throughSeq, CancellationToken cancellationToken, long knownGeneration = long.MaxValue)
    {
        var (lease, refusal) = await _leases.TryAcquireAsync(
            chatId, throughSeq, ReplicaId, _options.Lease, _options.MaxAttempts, AttemptsKept, _options.GiveUpPause, knownGeneration, _options.EveryTurns);
        if (lease is null)
        {
            SummaryMetrics.Run(refusal switch
            {
                SummaryLeaseRefusal.Exhausted => "exhausted",
                SummaryLeaseRefusal.Unknown => "lease_unknown",
                SummaryLeaseRefusal.Stored => "covered_in_redis",
                _ => "not_claimed",
            });
            return refusal == SummaryLeaseRefusal.Stored ? SummaryRunOutcome.Covered : SummaryRunOutcome.NotClaimed;
        }

        SummaryRunOutcome outcome;
        ChatSummary? stored;
        try
        {
            (outcome, stored) = await RunLeasedAsync(chatId, throughSeq, cancellationToken);
        }
        catch
        {
            // A job that threw (a Spanner error, a commit of unknown outcome, shutdown) stays listed for the
            // sweep, due after the retry delay; its attempt stays counted, so MaxAttempts bounds crashes too.
            await _leases.ReleaseAsync(lease, _options.RetryDelay, SummaryAttempts.Keep);
            throw;
        }

        // Off the sweep's list: a failed call is recorded in Spanner (the sweep finds it there) and keeps its
        // attempt counted; a job the store refused (retry delay not over, tried too often) attempted nothing.
        await _leases.ReleaseAsync(lease, retryAfter: null, outcome switch
        {
            SummaryRunOutcome.Failed => SummaryAttempts.Keep,
            SummaryRunOutcome.NotClaimed => SummaryAttempts.Undo,
            _ => SummaryAttempts.Forget,
        }, stored);
        return outcome;
    }

    private TimeSpan AttemptsKept => _options.AttemptsKept;

    private async Task<(SummaryRunOutcome Outcome, ChatSummary? Stored)> RunLeasedAsync(string chatId, long throughSeq, CancellationToken cancellationToken)
    {
        var (status, claim, span) = await _store.PrepareAsync(
            chatId, throughSeq, _options.EveryTurns, _options.MaxAttempts, _options.GiveUpPause, _options.MaxInputChars, cancellationToken);
        if (status == SummaryClaimStatus.CoveredWithRow)
        {
            await _store.ForgetAsync(chatId, _options.EveryTurns, cancellationToken);
            SummaryMetrics.Committed();
            status = SummaryClaimStatus.Covered;
        }

        if (claim is null || span is null)
        {
            SummaryMetrics.Run(status == SummaryClaimStatus.Covered ? "covered" : "not_claimed");
            return (status == SummaryClaimStatus.Covered ? SummaryRunOutcome.Covered : SummaryRunOutcome.NotClaimed, null);
        }

        if (span.Turns.Count == 0)
        {
            // Every turn of the span is hidden: the summary stays what it was, now through the span's end.
            return Stored(await _store.CommitAsync(claim, span, claim.ThroughSeq, claim.BaseText, 0, ReplicaId, [], cancellationToken), chatId, claim.ThroughSeq);
        }

        var route = _options.Route.Length > 0 ? _options.Route : span.FirstCharacterRoute;
        if (!_router.HasRoute(route))
        {
            const string unknown = "the summary route is not configured";
            await _store.FailAsync(claim, span.ShownSeqs, ReplicaId, $"{unknown}: {route}", _options.RetryDelay, [], CancellationToken.None);
            SummaryMetrics.Committed();
            Log.JobFailed(_logger, chatId, claim.ThroughSeq, claim.Attempt, $"{unknown}: {route}");
            SummaryMetrics.Run("failed");
            return (SummaryRunOutcome.Failed, null);
        }

        var queuedAt = _timeProvider.GetUtcNow();
        var (prompt, taken) = Prompt(claim, span, _router.BudgetFor(route), _options.MaxOutputTokens);
        if (taken == 0)
        {
            // The instructions alone leave no room for any of the first turn's text: a summary through it
            // would tell nothing of it. Failed (counted as an attempt, so MaxAttempts and the give-up pause
            // bound it) until the summary route's context or the instructions change.
            const string noRoom = "the summary route's context leaves no room for a turn after the instructions";
            await _store.FailAsync(claim, span.ShownSeqs, ReplicaId, noRoom, _options.RetryDelay, [], CancellationToken.None);
            SummaryMetrics.Committed();
            Log.JobFailed(_logger, chatId, claim.ThroughSeq, claim.Attempt, noRoom);
            SummaryMetrics.Run("failed");
            return (SummaryRunOutcome.Failed, null);
        }

        var (text, calls, finished) = await GenerateAsync(route, prompt, chatId, claim.ThroughSeq, queuedAt, cancellationToken);
        var summary = text.Trim();
        if (!finished.Succeeded || summary.Length == 0)
        {
            var reason = finished.Succeeded ? "the model returned no text" : finished.FailureReason ?? "the model call failed";
            await _store.FailAsync(claim, span.ShownSeqs, ReplicaId, reason, _options.RetryDelay, calls, CancellationToken.None);
            SummaryMetrics.Committed();
            Log.JobFailed(_logger, chatId, claim.ThroughSeq, claim.Attempt, reason);
            SummaryMetrics.Run("failed");
            return (SummaryRunOutcome.Failed, null);
        }

        if (summary.Length > _options.MaxSummaryChars)
        {
            // Never between the halves of a surrogate pair.
            var end = _options.MaxSummaryChars;
            summary = summary[..(char.IsHighSurrogate(summary[end - 1]) ? end - 1 : end)];
        }

        // A span cut by MaxInputChars, or by the summary route's token budget, ends at its last turn sent; the
        // rest is the next job's (so no turn is ever left out of the summary).
        var through = taken < span.Turns.Count ? span.Turns[taken - 1].Seq : span.Cut ? span.Turns[^1].Seq : claim.ThroughSeq;
        return Stored(await _store.CommitAsync(claim, span, through, summary, taken, ReplicaId, calls, CancellationToken.None), chatId, through);
    }

    private (SummaryRunOutcome, ChatSummary?) Stored(ChatSummary? stored, string chatId, long through)
    {
        SummaryMetrics.Committed();
        if (stored is null)
        {
            SummaryMetrics.Run("lost");
            return (SummaryRunOutcome.Lost, null);
        }

        Log.Stored(_logger, chatId, stored.Version, through);
        SummaryMetrics.SummaryStored();
        SummaryMetrics.Run("stored");
        return (SummaryRunOutcome.Stored, stored);
    }

    /// <summary>
    /// The summary prompt: the instructions as a system message, then one user message with the previous
    /// summary and the span's turns as "Name: text" lines, oldest first, within the summary route's prompt
    /// budget by its tokenizer (its context less the larger of its reply reserve and
    /// <see cref="SummaryOptions.MaxOutputTokens"/>). The instructions always go; the earlier summary goes
    /// whole unless it would leave the first turn less than the smaller of its own cost and half the room
    /// after the instructions: then its start is cut (its newest part is kept), so a long earlier summary
    /// on a small summary context never crowds every turn out. The span's turns go oldest first while they
    /// fit, and the newest that do not are left to the next job (the summary then ends at the last turn
    /// sent), so no turn is ever skipped by the summary; the first turn's oldest text is cut if it alone is
    /// over. Returns how many turns it took: 0 when not even part of the first turn's text fits (the
    /// instructions fill the room), and the job must then not store a summary through it.
    /// </summary>
    internal (IReadOnlyList<ChatMessage> Messages, int Turns) Prompt(SummaryClaim claim, SummarySpan span, RoutePromptBudget budget, int maxOutputTokens)
    {
        var tokenizer = budget.Tokenizer;
        var cast = string.Join(" and ", span.Names.Values.Distinct());
        var instructions = Macros.Expand(_options.Instructions, cast.Length > 0 ? cast : "the characters", Macros.DefaultUserName);
        string Name(ChatTurn turn) => turn.Role == AuthorRole.User
            ? Macros.DefaultUserName
            : turn.CharacterId is { } id && span.Names.TryGetValue(id, out var display) ? display : "Character";
        string Body(string earlier) => $"Earlier summary:\n{(earlier.Length > 0 ? earlier : "(none yet)")}\n\nNew messages:\n";

        // The message framing and the reply's priming count too; the lines' costs are counted one by one,
        // which may overcount a little at their joins (never under).
        var fixedRoom = budget.ContextTokens - Math.Max(budget.ReplyReserveTokens, maxOutputTokens)
            - tokenizer.CountMessage(instructions) - PromptTokenizer.MessageOverhead;
        var baseText = claim.BaseText;
        if (baseText.Length > 0 && span.Turns.Count > 0)
        {
            var firstTurn = span.Turns[0];
            var frame = tokenizer.CountMessage(Body(""));
            var firstShare = Math.Min(tokenizer.Count($"{Name(firstTurn)}: {firstTurn.Text}\n"), Math.Max(0, fixedRoom - frame) / 2);
            var forBase = fixedRoom - frame - firstShare;
            if (tokenizer.Count(baseText) > forBase)
            {
                baseText = KeepEnd(baseText, forBase, tokenizer);
            }
        }

        var body = new StringBuilder(Body(baseText));
        var room = fixedRoom - tokenizer.CountMessage(body.ToString());
        var taken = 0;
        foreach (var turn in span.Turns)
        {
            var name = Name(turn);
            var line = $"{name}: {turn.Text}\n";
            var cost = tokenizer.Count(line);
            if (cost > room)
            {
                if (taken > 0)
                {
                    break;
                }

                var kept = KeepEnd(turn.Text, room - tokenizer.Count($"{name}: \n"), tokenizer);
                if (kept.Length == 0 && turn.Text.Length > 0)
                {
                    // Cut to nothing: no summary may claim to cover this turn.
                    break;
                }

                line = $"{name}: {kept}\n";
                cost = room;
            }

            body.Append(line);
            room -= cost;
            taken++;
        }

        return ([new ChatMessage(ChatRole.System, instructions), new ChatMessage(ChatRole.User, body.ToString().TrimEnd())], taken);
    }

    /// <summary>The longest end of <paramref name="text"/> within <paramref name="tokens"/> (empty when none fits), never starting inside a surrogate pair.</summary>
    private static string KeepEnd(string text, int tokens, PromptTokenizer tokenizer)
    {
        if (tokens <= 0)
        {
            return "";
        }

        // The most characters kept such that their count fits: the count only grows with the characters kept.
        int low = 0, high = text.Length;
        while (low < high)
        {
            var mid = (low + high + 1) / 2;
            if (tokenizer.Count(text[^mid..]) <= tokens)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }

        var start = text.Length - low;
        if (start < text.Length && char.IsLowSurrogate(text[start]))
        {
            start++;
        }

        return text[start..];
    }

    private async Task<(string Text, List<ModelCallRecord> Calls, GenerationFinished Finished)> GenerateAsync(
        string route, IReadOnlyList<ChatMessage> prompt, string chatId, long throughSeq, DateTimeOffset queuedAt, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.CallTimeout);
        var text = new StringBuilder();
        var calls = new List<ModelCallRecord>();
        GenerationFinished finished = new(false, ReplyFailureCode.Interrupted, "the model stream ended without an outcome");
        var request = new GenerationRequest(route, prompt, _options.MaxOutputTokens, Variant: $"summary-{chatId}-{throughSeq}");
        await foreach (var update in _router.GenerateAsync(request, timeout.Token))
        {
            switch (update)
            {
                case TextDelta delta:
                    text.Append(delta.Text);
                    break;
                case AttemptStarted:
                    // A retry after a failed attempt starts the text again.
                    text.Clear();
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

    private static partial class Log
    {
        [LoggerMessage(3801, LogLevel.Information, "Stored summary version {Version} of chat {ChatId} through turn {ThroughSeq}.")]
        public static partial void Stored(ILogger logger, string chatId, long version, long throughSeq);

        [LoggerMessage(3802, LogLevel.Warning, "Summary of chat {ChatId} through turn {ThroughSeq} failed (attempt {Attempt}): {Reason}. The sweep tries it again later.")]
        public static partial void JobFailed(ILogger logger, string chatId, long throughSeq, int attempt, string reason);
    }
}
