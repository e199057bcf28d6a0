using System.ComponentModel.DataAnnotations;

namespace ChatService.Inference;

/// <summary>
/// Model backends and routes. Bound from the <c>Inference</c> configuration section. With no
/// configuration the service has one simulated backend, <c>sim</c>, and the route
/// <c>default</c> → [<c>sim</c>], so it runs with no GPU and no network.
/// </summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>The name of the backend added when none is configured.</summary>
    public const string DefaultBackendName = "sim";

    /// <summary>The name of the route added when none is configured.</summary>
    public const string DefaultRouteName = "default";

    /// <summary>Backends by name. Default: <c>sim</c>, a simulated backend with default settings, when none is configured.</summary>
    public Dictionary<string, BackendOptions> Backends { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Routes by name: the backends to try, in order. Default: <c>default</c> → [the only
    /// backend] when none is configured and there is exactly one backend.
    /// </summary>
    public Dictionary<string, List<string>> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Prompt budgets by route name (<c>Inference:RouteBudgets:&lt;route&gt;:ContextTokens</c> and
    /// <c>:ReplyReserveTokens</c>); a route without one has <see cref="ContextTokens"/> and
    /// <see cref="ReplyReserveTokens"/>. Default: none.
    /// </summary>
    public Dictionary<string, RouteBudgetOptions> RouteBudgets { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The context window a route's model has, in tokens: the prompt and the reply together. Default: 8192.
    /// </summary>
    [Range(256, 10_000_000)]
    public int ContextTokens { get; set; } = 8192;

    /// <summary>
    /// Tokens of the context kept free for the reply; a prompt is at most <see cref="ContextTokens"/>
    /// minus this. Default: 512 (the most a reply asks for).
    /// </summary>
    [Range(1, 10_000_000)]
    public int ReplyReserveTokens { get; set; } = 512;

    /// <summary>The budget of <paramref name="route"/>'s prompts: its own, else the defaults.</summary>
    internal (int ContextTokens, int ReplyReserveTokens) BudgetOf(string route) =>
        RouteBudgets.TryGetValue(route, out var own)
            ? (own.ContextTokens ?? ContextTokens, own.ReplyReserveTokens ?? ReplyReserveTokens)
            : (ContextTokens, ReplyReserveTokens);

    /// <summary>Retries on the same backend after a transient failure before the first token, before falling back to the next. Default: 1.</summary>
    [Range(0, 10)]
    public int RetriesBeforeFirstToken { get; set; } = 1;

    /// <summary>Delay before the first retry on a backend, doubled for each further retry, with ±20% jitter. Default: 100 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Fills in the defaults for what configuration left empty.</summary>
    internal void ApplyDefaults()
    {
        if (Backends.Count == 0)
        {
            Backends[DefaultBackendName] = new BackendOptions();
        }

        if (Routes.Count == 0 && Backends.Count == 1)
        {
            Routes[DefaultRouteName] = [Backends.Keys.Single()];
        }
    }
}
