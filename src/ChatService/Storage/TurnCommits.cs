using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Runs the read-write transactions that change turns, and hands what they committed to the
/// change sink. Shared by the chat store and the reply ledger.
/// </summary>
internal sealed class TurnCommits(SpannerGateway spanner, IChatChangeSink changes)
{
    /// <summary>
    /// Runs <paramref name="work"/> in a read-write transaction (retried on ABORTED), its turn writes
    /// going through a fresh <see cref="TurnMutations"/> per attempt. Returns the work's result and
    /// the turns it wrote as of the commit, and the commit's timestamp. When the outcome is unknown (any failure but a domain
    /// refusal, which rolls back) the sink hears that the chat may have changed.
    /// </summary>
    /// <param name="chatId">The chat the work writes to; null when it may touch several (the sink is then told of each chat the last attempt wrote to).</param>
    public async Task<(T Result, IReadOnlyList<ChatTurn> Turns, DateTimeOffset Committed)> RunAsync<T>(
        string? chatId, Func<SpannerTransaction, TurnMutations, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        TurnMutations? lastAttempt = null;
        try
        {
            var ((result, turns), committed) = await spanner.TransactionAsync(async (tx, ct) =>
            {
                var turns = lastAttempt = new TurnMutations(tx);
                return (await work(tx, turns, ct), turns);
            }, cancellationToken);
            return (result, turns.CommittedAt(committed), committed);
        }
        catch (Exception ex) when (ex is not ChatException)
        {
            // The commit may have landed: a settle by the recovery sweep, say, is final and would
            // never be reapplied, so every chat it may have changed is marked for the cache.
            var touched = chatId is not null ? [chatId] : lastAttempt?.ChatIds ?? [];
            foreach (var chat in touched)
            {
                await changes.ChangedAsync(ChatChange.Unknown(chat));
            }

            throw;
        }
    }

    /// <summary>Tells the sink how these turns of the chat show now.</summary>
    public Task ShownAsync(string chatId, IReadOnlyList<ChatTurn> turns) => changes.ChangedAsync(ChatChange.Shown(chatId, turns));

    /// <summary>Tells the sink a change to the chat happened that the writer could not see (e.g. someone else settled the reply).</summary>
    public Task UnknownAsync(string chatId) => changes.ChangedAsync(ChatChange.Unknown(chatId));

    /// <summary>Tells the sink the chat is gone.</summary>
    public Task DeletedAsync(string chatId) => changes.ChangedAsync(ChatChange.Deleted(chatId));
}
