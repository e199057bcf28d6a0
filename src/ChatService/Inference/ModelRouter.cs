using System.Runtime.CompilerServices;
using ChatService.Chats;
using ChatService.Resilience;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ChatService.Inference;

/// <summary>
/// Generates replies on the backends of a route: each backend's concurrency limit and
/// timeouts, retries on the same backend before the first token, fallback to the next backend,
/// and a <see cref="ModelCall"/> for every attempt. A singleton; thread-safe.
/// </summary>
public sealed partial class ModelRouter : IDisposable
{
    private readonly Dictionary<string, ModelBackend> _backends = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ModelBackend[]> _routes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, RoutePromptBudget> _budgets = new(StringComparer.OrdinalIgnoreCase);
    private readonly RoutePromptBudget _unknownRouteBudget;
    private readonly RetryPolicy _retryBeforeFirstToken;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates the configured backends: simulated ones in process, OpenAI-compatible ones over HTTP.</summary>
    public ModelRouter(IOptions<InferenceOptions> options, TimeProvider timeProvider, ILogger<ModelRouter> logger)
        : this(options.Value, (_, backend) => ModelBackendFactory.CreateClient(backend, timeProvider), timeProvider, logger)
    {
    }

    /// <summary>
    /// Uses <paramref name="clientFactory"/> (backend name, options → client) for the backends'
    /// clients: for tests, or for backends of other kinds. The router owns and disposes them.
    /// </summary>
    /// <exception cref="OptionsValidationException">The options are not valid.</exception>
    public ModelRouter(
        InferenceOptions options,
        Func<string, BackendOptions, IChatClient> clientFactory,
        TimeProvider timeProvider,
        ILogger<ModelRouter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clientFactory);
        var validation = new InferenceOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(InferenceOptions), validation.Failures);
        }

        _timeProvider = timeProvider;
        _logger = logger;
        _retryBeforeFirstToken = new RetryPolicy(
            new RetryPolicyOptions
            {
                Name = "model-first-token",
                // The routing loop judges its failures itself (outcome and transience); the policy sets the pace and the count.
                ShouldRetry = _ => true,
                InitialDelay = options.RetryDelay,
                // Doubling is bounded by the few retries allowed; the cap only guards against a huge RetryDelay.
                MaxDelay = TimeSpan.FromTicks(Math.Max(options.RetryDelay.Ticks, TimeSpan.FromSeconds(30).Ticks)),
                MaxAttempts = options.RetriesBeforeFirstToken + 1,
            },
            timeProvider);
        foreach (var (name, backend) in options.Backends)
        {
            _backends[name] = new ModelBackend(name, backend, clientFactory(name, backend));
        }

        foreach (var (name, backendNames) in options.Routes)
        {
            _routes[name] = [.. backendNames.Select(b => _backends[b])];
            var (context, reserve) = options.BudgetOf(name);
            _budgets[name] = new RoutePromptBudget(PromptTokenizer.For(_routes[name][0].Options.Tokenizer), context, reserve);
        }

        // A reply on a route that is not configured fails before any call; its prompt only needs a size.
        _unknownRouteBudget = new RoutePromptBudget(PromptTokenizer.Estimate, options.ContextTokens, options.ReplyReserveTokens);

        InferenceLog.Configured(
            logger,
            string.Join(", ", _backends.Values.Select(b => $"{b.Name} ({b.Options.Kind}, {b.Model})")),
            string.Join(", ", _routes.Select(r => $"{r.Key} → [{string.Join(", ", r.Value.Select(b => b.Name))}]")));
    }

    /// <summary>
    /// How prompts for <paramref name="route"/> are counted and how many tokens they may have: the
    /// route's first backend's tokenizer and the route's budget. A route that is not configured gets the
    /// character estimate and the default budget (its replies fail before any call).
    /// </summary>
    public RoutePromptBudget BudgetFor(string? route) =>
        route is not null && _budgets.TryGetValue(route, out var budget) ? budget : _unknownRouteBudget;

    /// <summary>Whether <paramref name="route"/> is configured (case-insensitive).</summary>
    public bool HasRoute(string route) => route is not null && _routes.ContainsKey(route);

    /// <summary>
    /// Generates one reply; see <see cref="GenerationEvent"/> for the order of events. Never
    /// throws once enumerating: failures, including the caller's cancellation, end the sequence
    /// with a failed <see cref="GenerationFinished"/>, so the caller can keep partial text.
    /// </summary>
    /// <exception cref="ArgumentException">The request itself is malformed (thrown at the call, before any event).</exception>
    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Messages);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.MaxOutputTokens);
        return GuardAsync(request, cancellationToken);
    }

    public void Dispose()
    {
        foreach (var backend in _backends.Values)
        {
            backend.Dispose();
        }
    }

    /// <summary>
    /// Keeps the event contract even if the routing loop has a bug: an exception from it is
    /// logged and turned into the missing <see cref="GenerationFinished"/>.
    /// </summary>
    private async IAsyncEnumerable<GenerationEvent> GuardAsync(
        GenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var events = RouteAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var streamedText = false;
        var finished = false;
        Exception? failure = null;
        try
        {
            while (!finished)
            {
                GenerationEvent next;
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        break;
                    }

                    next = events.Current;
                }
                catch (Exception ex)
                {
                    failure = ex;
                    break;
                }

                streamedText |= next is TextDelta;
                finished = next is GenerationFinished;
                yield return next;
            }
        }
        finally
        {
            try
            {
                await events.DisposeAsync();
            }
            catch (Exception ex)
            {
                failure ??= ex;
            }
        }

        if (!finished)
        {
            failure ??= new InvalidOperationException("The routing loop ended without a GenerationFinished event.");
            InferenceLog.UnexpectedFailure(_logger, request.Route, failure);
            var code = cancellationToken.IsCancellationRequested ? ReplyFailureCode.Cancelled
                : streamedText ? ReplyFailureCode.Interrupted
                : ReplyFailureCode.BackendUnavailable;
            yield return new GenerationFinished(false, code, $"Generation failed unexpectedly: {failure.Message}");
        }
    }
}
