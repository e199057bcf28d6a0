namespace ChatService.Inference;

/// <summary>How a route's prompts are counted, and how large they may be.</summary>
/// <param name="Tokenizer">The route's first backend's tokenizer.</param>
/// <param name="ContextTokens">The route's context window (prompt and reply).</param>
/// <param name="ReplyReserveTokens">Tokens kept free for the reply.</param>
public sealed record RoutePromptBudget(PromptTokenizer Tokenizer, int ContextTokens, int ReplyReserveTokens)
{
    /// <summary>The most tokens a prompt may have: the context less the reply's reserve.</summary>
    public int PromptTokens => ContextTokens - ReplyReserveTokens;
}
