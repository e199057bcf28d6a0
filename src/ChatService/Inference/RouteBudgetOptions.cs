namespace ChatService.Inference;

/// <summary>
/// One route's prompt budget, bound from <c>Inference:RouteBudgets:&lt;route&gt;</c>; what it leaves
/// unset is <see cref="InferenceOptions.ContextTokens"/> and <see cref="InferenceOptions.ReplyReserveTokens"/>.
/// </summary>
public sealed class RouteBudgetOptions
{
    /// <summary>The smallest context window a route may declare.</summary>
    internal const int MinimumContextTokens = 256;

    /// <summary>The fewest tokens a route's prompt may be left with after the reply's reserve.</summary>
    internal const int MinimumPromptTokens = 128;

    /// <summary>The route's context window in tokens (prompt and reply). Default: <c>Inference:ContextTokens</c>.</summary>
    public int? ContextTokens { get; set; }

    /// <summary>Tokens kept free for the reply. Default: <c>Inference:ReplyReserveTokens</c>.</summary>
    public int? ReplyReserveTokens { get; set; }
}
