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
    /// the turns it wrote as of the commit, and the commit's timestamp. A change to one chat is
    /// announced to the sink before anything commits (<see cref="IChatChangeSink.IntendAsync"/>),
    /// so that a writer that dies before the sink hears of its commit leaves a mark every replica
    /// sees; the caller ends that announcement with <see cref="ShownAsync{T}"/>,
    /// <see cref="ReleaseAsync{T}"/> or <see cref="DeletedAsync{T}"/>. When the outcome is unknown
    /// (any failure but a domain refusal, which rolls back) the sink hears that the chat may have changed.
    /// </summary>
    /// <param name="chatId">The chat the work writes to; null when it may touch several (the sink is then told of each chat the last attempt wrote to).</param>
    public async Task<TurnCommit<T>> RunAsync<T>(
        string? chatId, Func<SpannerTransaction, TurnMutations, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        TurnMutations? lastAttempt = null;
        var attempts = 0;

        // Set once an attempt's work has returned: only then can a commit follow.
        var workDone = false;
        var intending = chatId is null ? null : changes.IntendAsync(chatId);
        try
        {
            var ((result, turns), committed) = await spanner.TransactionAsync(async (tx, ct) =>
            {
                workDone = false;
                var turns = lastAttempt = new TurnMutations(tx);
                var result = await work(tx, turns, ct);

                // The announcement went out before the transaction began and ran alongside its work;
                // it is in place before anything commits. A retry (after an abort) can come long
                // after it, so the deadline is renewed before the retry may commit.
                if (intending is not null && await intending is { } intent && ++attempts > 1)
                {
                    await changes.IntendAsync(chatId!, intent);
                }

                workDone = true;
                return (result, turns);
            }, cancellationToken);
            return new TurnCommit<T>(chatId, result, turns.CommittedAt(committed), committed, intending is null ? null : await intending);
        }
        catch (Exception ex) when (ex is ChatException || !workDone)
        {
            // Refused (rolled back), or failed before any attempt's work was done (cancelled, a read
            // failed): nothing committed.
            if (intending is not null && await intending is { } intent)
            {
                await changes.ReleaseAsync(chatId!, intent);
            }

            throw;
        }
        catch (Exception)
        {
            // The commit may have landed: a settle by the recovery sweep, say, is final and would
            // never be reapplied, so every chat it may have changed is marked for the cache (and
            // the announcement, if any, stays: it is the mark the other replicas see).
            var touched = chatId is not null ? [chatId] : lastAttempt?.ChatIds ?? [];
            foreach (var chat in touched)
            {
                await changes.ChangedAsync(ChatChange.Unknown(chat));
            }

            throw;
        }
    }

    /// <summary>Tells the sink how these turns of the commit's chat show now.</summary>
    public Task ShownAsync<T>(TurnCommit<T> commit, IReadOnlyList<ChatTurn> turns) =>
        changes.ChangedAsync(ChatChange.Shown(commit.ChatId!, turns, commit.Intent));

    /// <summary>Tells the sink how these turns of a chat show now, after a commit that spanned chats (announced to none).</summary>
    public Task ShownAsync(string chatId, IReadOnlyList<ChatTurn> turns) => changes.ChangedAsync(ChatChange.Shown(chatId, turns, intent: null));

    /// <summary>The commit changed the chat's own fields that cached windows keep (its pins), and no turn: the window goes.</summary>
    public Task ChatChangedAsync<T>(TurnCommit<T> commit) =>
        changes.ChangedAsync(ChatChange.ChatFields(commit.ChatId!, commit.Intent));

    /// <summary>The commit stored a new summary version and changed no turn: a cached window takes it in place.</summary>
    public Task SummaryStoredAsync<T>(TurnCommit<T> commit, ChatSummary summary) =>
        changes.ChangedAsync(ChatChange.SummaryStored(commit.ChatId!, summary, commit.Intent));

    /// <summary>The commit changed nothing history shows: ends its announcement.</summary>
    public Task ReleaseAsync<T>(TurnCommit<T> commit) =>
        commit.Intent is { } intent ? changes.ReleaseAsync(commit.ChatId!, intent) : Task.CompletedTask;

    /// <summary>Tells the sink a change to the chat happened that the writer could not see (e.g. someone else settled the reply).</summary>
    public Task UnknownAsync(string chatId) => changes.ChangedAsync(ChatChange.Unknown(chatId));

    /// <summary>Tells the sink the commit's chat is gone.</summary>
    public Task DeletedAsync<T>(TurnCommit<T> commit) => changes.ChangedAsync(ChatChange.Deleted(commit.ChatId!));
}

/// <summary>
/// What <see cref="TurnCommits.RunAsync{T}"/> committed: the work's result, the turns written as of
/// the commit, its timestamp, and the announcement the sink must hear the end of (null if none).
/// </summary>
internal sealed record TurnCommit<T>(string? ChatId, T Result, IReadOnlyList<ChatTurn> Turns, DateTimeOffset Committed, string? Intent)
{
    public void Deconstruct(out T result, out IReadOnlyList<ChatTurn> turns, out DateTimeOffset committed) =>
        (result, turns, committed) = (Result, Turns, Committed);
}
