namespace ChatService.Chats;

/// <summary>The assembled prompt of one candidate as stored when it settled (see GetReplyPrompt).</summary>
/// <param name="CandidateId">The candidate it was sent for.</param>
/// <param name="Tokenizer">How it was counted (<c>o200k_base</c>, <c>cl100k_base</c> or <c>chars</c>).</param>
/// <param name="BudgetTokens">The route's context less its reply reserve.</param>
/// <param name="TotalTokens">The whole prompt, in tokens of <paramref name="Tokenizer"/>.</param>
/// <param name="Sections">Tokens per section, in the order sections are given room.</param>
/// <param name="Messages">The messages as sent; null when they were over the stored bound.</param>
/// <param name="StoreTime">When the candidate settled.</param>
public sealed record StoredPrompt(
    string CandidateId,
    string Tokenizer,
    int BudgetTokens,
    int TotalTokens,
    IReadOnlyList<(string Section, int Tokens)> Sections,
    IReadOnlyList<StoredPromptMessage>? Messages,
    DateTimeOffset StoreTime);

/// <summary>One message of a stored prompt.</summary>
public sealed record StoredPromptMessage(string Role, string Content);
