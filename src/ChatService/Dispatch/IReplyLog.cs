using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// Every reply's events, shared by all replicas (Redis Streams in production): the replica
/// generating a reply appends to it, any replica follows it. Best effort: when it cannot be
/// reached, generation goes on and followers fall back to storage.
/// </summary>
public interface IReplyLog
{
    /// <summary>False when there is no shared log (no Redis configured): followers use storage alone.</summary>
    bool IsEnabled { get; }

    /// <summary>
    /// Appends a batch of events, in one round trip, if it continues the log: its first sequence
    /// follows the log's last, the log has no final event, and no later attempt has written to it.
    /// </summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    Task<ReplyLogAppend> AppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events);

    /// <summary>
    /// Appends <paramref name="final"/> after whatever the log holds, unless it has ended or does not
    /// exist: for a reply settled without its owner (recovery gave up on it, or it was cancelled
    /// while its replica was gone), so that its followers end too.
    /// </summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    Task EndAsync(ReplyKey key, ReplyUpdate final);

    /// <summary>The log's events after <paramref name="afterSequence"/>; <see cref="ReplyLogRead.Missing"/> when it has none at all.</summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    /// <exception cref="ReplyLogCorruptException">The log holds something that cannot be read.</exception>
    Task<ReplyLogRead> ReadAsync(ReplyKey key, long afterSequence);

    /// <summary>
    /// The events of the log's first entry (one append) only, whatever its length: whether the log is there and
    /// starts at its beginning; <see cref="ReplyLogRead.Missing"/> when it has no entry.
    /// </summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    /// <exception cref="ReplyLogCorruptException">The entry cannot be read.</exception>
    Task<ReplyLogRead> ReadFirstAsync(ReplyKey key);

    /// <summary>
    /// The replica whose attempt wrote the log's last append, while the log has not ended; null
    /// when there is no log or it has ended. Lets a cancel reach the generating replica without a
    /// storage read.
    /// </summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    Task<string?> WriterAsync(ReplyKey key);

    /// <summary>
    /// Calls <paramref name="wake"/> whenever events are appended to the reply's log, once the
    /// subscription is confirmed; null when it could not be made. Wake-ups are hints and can be
    /// lost: a follower still reads the log now and then.
    /// </summary>
    Task<IAsyncDisposable?> SubscribeAsync(ReplyKey key, Action wake);

    /// <summary>
    /// Deletes the reply's log: for a reply withheld by moderation, whose streamed text must not be
    /// replayed to anyone. Its followers then find the log gone and read the outcome from storage.
    /// </summary>
    /// <exception cref="ReplyLogUnavailableException">The log could not be reached.</exception>
    Task DeleteAsync(ReplyKey key);
}

/// <summary>What an append did: <see cref="LastSequence"/> and <see cref="LastAttempt"/> describe the log after it.</summary>
public readonly record struct ReplyLogAppend(ReplyLogAppendStatus Status, long LastSequence, int LastAttempt);

public enum ReplyLogAppendStatus
{
    Appended,

    /// <summary>The batch does not follow the log's last event (a gap, a repeat, or a log that was lost); a restart may jump ahead.</summary>
    OutOfOrder,

    /// <summary>A later attempt writes to this log: this one no longer owns the reply.</summary>
    Fenced,

    /// <summary>The log already has its final event.</summary>
    Ended,

    /// <summary>There is no log to end.</summary>
    Missing,
}

/// <summary>Events read from a reply's log, in order.</summary>
public sealed record ReplyLogRead(IReadOnlyList<ReplyUpdate> Events, bool Missing)
{
    public static readonly ReplyLogRead None = new([], Missing: true);
}

/// <summary>The shared reply log answered with something it cannot have written: followers treat it as a log with a hole.</summary>
public sealed class ReplyLogCorruptException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>The shared reply log did not answer.</summary>
public sealed class ReplyLogUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Without Redis there is no shared log: appends go nowhere, followers read storage.</summary>
internal sealed class NoReplyLog : IReplyLog
{
    public bool IsEnabled => false;

    public Task<ReplyLogAppend> AppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events) =>
        Task.FromResult(new ReplyLogAppend(ReplyLogAppendStatus.Appended, events.Count > 0 ? events[^1].Sequence : 0, attempt));

    public Task EndAsync(ReplyKey key, ReplyUpdate final) => Task.CompletedTask;

    public Task<ReplyLogRead> ReadAsync(ReplyKey key, long afterSequence) => Task.FromResult(ReplyLogRead.None);

    public Task<ReplyLogRead> ReadFirstAsync(ReplyKey key) => Task.FromResult(ReplyLogRead.None);

    public Task<string?> WriterAsync(ReplyKey key) => Task.FromResult<string?>(null);

    public Task<IAsyncDisposable?> SubscribeAsync(ReplyKey key, Action wake) => Task.FromResult<IAsyncDisposable?>(null);

    public Task DeleteAsync(ReplyKey key) => Task.CompletedTask;
}
