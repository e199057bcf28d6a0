using ChatService.Inference;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Warns at start of every route whose prompt budget the configured section ceilings can fill before the
/// recent turns get their room: the sections of higher priority (definition, pins, memory, summary, lore)
/// are given room first, so a large character with a long memory would leave such a route's prompts with
/// little more than the newest user turn. A warning, not a refusal: the prompts stay within the budget,
/// and an operator may mean it (a route for short exchanges with rich lore, say).
/// </summary>
internal sealed partial class PromptBudgetReport(
    ModelRouter router,
    IOptions<InferenceOptions> inference,
    IOptions<DispatchOptions> dispatch,
    ILogger<PromptBudgetReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var route in inference.Value.Routes.Keys.Order(StringComparer.OrdinalIgnoreCase))
        {
            var budgets = dispatch.Value.PromptBudgets(router.BudgetFor(route));
            if (Starves(budgets, out var before, out var left, out var wanted))
            {
                // The ceilings' real sum, which may be over the whole budget (left is never below 0).
                LogHistoryStarved(route, budgets.PromptTokens, before, left, wanted);
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Whether <paramref name="budgets"/>' higher-priority ceilings, all full, leave the recent turns less than
    /// they need: the smaller of their own ceiling and a quarter of the prompt (<paramref name="wanted"/>).
    /// <paramref name="before"/> is what those ceilings add up to (over the whole budget, it may be), and
    /// <paramref name="left"/> what the recent turns would be left (never below 0).
    /// </summary>
    internal static bool Starves(PromptBudgets budgets, out long before, out int left, out int wanted)
    {
        before = (long)budgets.DefinitionTokens + budgets.PinnedTokens + budgets.MemoryTokens + budgets.SummaryTokens + budgets.LoreTokens;
        left = (int)Math.Max(0, budgets.PromptTokens - before);
        wanted = Math.Min(budgets.HistoryTokens, budgets.PromptTokens / 4);
        return left < wanted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: its prompts hold {PromptTokens} tokens, and the Dispatch:*BudgetTokens ceilings of the definition, pins, memory note, summary and lore add up to {Before}, leaving the recent turns {Left} where they need {Wanted}; a large character with a long memory would leave little more than the newest user turn. Lower those ceilings or raise the route's ContextTokens")]
    private partial void LogHistoryStarved(string route, int promptTokens, long before, int left, int wanted);
}
