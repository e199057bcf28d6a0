using System.Runtime.CompilerServices;
using ChatService.Chats;

namespace ChatService.Inference;

public sealed partial class ModelRouter
{
    private async IAsyncEnumerable<GenerationEvent> RouteAsync(
        GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var routeName = request.Route;
        if (routeName is null || !_routes.TryGetValue(routeName, out var route))
        {
            InferenceLog.UnknownRoute(_logger, routeName ?? "(null)");
            yield return new GenerationFinished(false, ReplyFailureCode.UnknownRoute, $"Model route '{request.Route}' is not configured.");
            yield break;
        }

        var attempts = 0;
        ModelCall? lastFailure = null;
        foreach (var backend in route)
        {
            // The loop yields events between attempts, so it cannot run inside the policy's pipeline; it asks the policy instead.
            var backendStarted = _timeProvider.GetTimestamp();
            for (var backendAttempt = 1; ; backendAttempt++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    yield return Cancelled(routeName);
                    yield break;
                }

                var attempt = new ModelAttempt(++attempts, backend, request, _timeProvider, _logger, cancellationToken);
                try
                {
                    yield return attempt.Started;
                    if (await attempt.AdmitAsync())
                    {
                        while (await attempt.MoveNextAsync())
                        {
                            yield return new TextDelta(attempt.Current);
                        }
                    }
                }
                finally
                {
                    // Frees the slot before the caller handles AttemptFinished (it may write to storage).
                    await attempt.DisposeAsync();
                }

                var call = attempt.Call!;
                yield return new AttemptFinished(call);
                if (call.Outcome == ModelCallOutcomes.Ok)
                {
                    yield return new GenerationFinished(true, null, null);
                    yield break;
                }

                if (call.Outcome == ModelCallOutcomes.Cancelled)
                {
                    yield return Cancelled(routeName);
                    yield break;
                }

                if (attempt.ProducedText)
                {
                    // Text already reached the caller: starting over elsewhere would show the user a second, different reply.
                    InferenceLog.GenerationInterrupted(_logger, routeName, backend.Name, backend.Model, call.Outcome, call.Error, attempt.Exception);
                    yield return new GenerationFinished(
                        false,
                        ReplyFailureCode.Interrupted,
                        $"Backend '{backend.Name}' failed part way through the reply ({call.Outcome}): {call.Error}");
                    yield break;
                }

                InferenceLog.AttemptFailedBeforeFirstToken(_logger, call.Attempt, backend.Name, backend.Model, call.Outcome, call.Error, attempt.Exception);
                lastFailure = call;
                if (call.Outcome == ModelCallOutcomes.Rejected || !attempt.IsTransient)
                {
                    // A full backend or a refused request will not do better a moment later: try the next backend.
                    break;
                }

                if (!_retryBeforeFirstToken.TryGetRetryDelay(backendAttempt, attempt.Exception, _timeProvider.GetElapsedTime(backendStarted), out var delay))
                {
                    break;
                }

                if (!await DelayBeforeRetryAsync(delay, cancellationToken))
                {
                    yield return Cancelled(routeName);
                    yield break;
                }
            }
        }

        var reason = lastFailure is null
            ? "The route has no backends."
            : $"{attempts} attempt(s) on route '{routeName}' failed before any text; last: backend '{lastFailure.Backend}' ({lastFailure.Model}) {lastFailure.Outcome}: {lastFailure.Error}";
        InferenceLog.BackendsUnavailable(_logger, routeName, attempts, reason);
        yield return new GenerationFinished(false, ReplyFailureCode.BackendUnavailable, reason);
    }

    private GenerationFinished Cancelled(string route)
    {
        InferenceLog.Cancelled(_logger, route);
        return new GenerationFinished(false, ReplyFailureCode.Cancelled, "The caller cancelled the generation.");
    }

    /// <summary>Waits the delay the retry policy chose.</summary>
    /// <returns>False when the caller cancelled meanwhile.</returns>
    private async ValueTask<bool> DelayBeforeRetryAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return !cancellationToken.IsCancellationRequested;
        }

        try
        {
            await Task.Delay(delay, _timeProvider, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
