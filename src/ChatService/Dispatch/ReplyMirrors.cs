using System.Collections.Concurrent;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// Replies this replica follows but does not own: each is mirrored once, however many callers
/// here follow it, into a <see cref="ReplyStream"/> they all read. A mirror copies the reply's
/// shared log (a read when woken by its subscription, and a safety read every
/// <see cref="DispatchOptions.FollowPollInterval"/> in case a wake-up was lost); it reads storage
/// only when the log cannot help: unreachable, missing (expired, or not written yet), or silent for
/// <see cref="DispatchOptions.FollowStallCheck"/>. Those reads back off up to
/// <see cref="DispatchOptions.FollowStorageMaxInterval"/> and are one per reply per replica.
/// The mirror and its subscription are dropped when the last caller leaves.
/// </summary>
public sealed partial class ReplyMirrors(IReplyLog log, IReplyLedger ledger, IOptions<DispatchOptions> options, TimeProvider timeProvider, ILogger<ReplyMirrors> logger)
{
    private readonly ConcurrentDictionary<ReplyKey, Mirror> _mirrors = new();

    /// <summary>Replies mirrored here right now.</summary>
    public int Count => _mirrors.Count;

    /// <summary>
    /// Follows the reply for one caller. <paramref name="userId"/> owns the reply's chat (checked
    /// by the caller): storage reads on the mirror's behalf are made as that user.
    /// </summary>
    /// <param name="settled">The caller found the reply settled already: if its log is gone, storage is read at once.</param>
    public MirrorLease Follow(string userId, ReplyKey key, bool settled = false)
    {
        while (true)
        {
            var mirror = _mirrors.GetOrAdd(key, k => new Mirror(k, userId, settled));
            if (mirror.TryAddFollower(out var first))
            {
                if (first)
                {
                    DispatchMetrics.MirrorOpened();
                    mirror.Pump = Task.Run(() => PumpAsync(mirror));
                }

                return new MirrorLease(this, mirror);
            }

            // Closing as its last caller left: make way for a fresh one.
            _mirrors.TryRemove(new KeyValuePair<ReplyKey, Mirror>(key, mirror));
        }
    }

    private void Leave(Mirror mirror)
    {
        if (mirror.RemoveFollower())
        {
            _mirrors.TryRemove(new KeyValuePair<ReplyKey, Mirror>(mirror.Stream.Key, mirror));
            mirror.Close();
        }
    }

    private async Task PumpAsync(Mirror mirror)
    {
        var stream = mirror.Stream;
        var key = stream.Key;
        var stop = mirror.Stopping;
        var wake = new SemaphoreSlim(0, 1);
        void Wake()
        {
            try
            {
                wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already woken.
            }
            catch (ObjectDisposedException)
            {
                // The mirror is gone.
            }
        }

        IAsyncDisposable? subscription = null;
        try
        {
            var o = options.Value;
            var storageDelay = o.StoragePollInterval;
            // With a log, storage waits a first interval: a log not written yet (a follower that
            // came right after Accepted) or a Redis hiccup usually sorts itself out by then.
            // A reply known to be settled reads storage at once when its log is gone.
            var nextStorageRead = timeProvider.GetUtcNow() + (log.IsEnabled && !mirror.SettledWhenOpened ? storageDelay : TimeSpan.Zero);
            var lastProgress = timeProvider.GetUtcNow();
            var logUsable = log.IsEnabled;
            var logAnswered = true;
            while (!stop.IsCancellationRequested)
            {
                var logMissing = false;
                if (logUsable)
                {
                    // Subscribed before reading, so that nothing appended in between goes unnoticed.
                    // While Redis does not answer, subscribing waits until a read succeeds.
                    if (subscription is null && logAnswered)
                    {
                        subscription = await log.SubscribeAsync(key, Wake);
                    }

                    logAnswered = false;
                    try
                    {
                        var read = await log.ReadAsync(key, stream.LastSequence);
                        logAnswered = true;
                        logMissing = read.Missing;
                        if (stream.LastSequence == 0 && read.Events is [var first, ..] && first.Sequence != 1 && first.Kind != ReplyUpdateKind.Restarted)
                        {
                            // The log's beginning was trimmed away: it cannot give the whole reply.
                            throw new ReplyLogCorruptException($"the reply log of {key} starts at {first.Sequence}");
                        }

                        if (stream.Append(read.Events) > 0)
                        {
                            lastProgress = timeProvider.GetUtcNow();
                            storageDelay = o.StoragePollInterval;
                        }
                    }
                    catch (ReplyLogUnavailableException)
                    {
                        // Redis is down: storage until it answers again.
                    }
                    catch (InvalidOperationException)
                    {
                        // The log lost events this mirror needs (trimmed, or a failover lost writes): storage alone from here.
                        Log.LogUnusable(logger, key.ToString());
                        logUsable = false;
                    }

                    if (stream.IsEnded)
                    {
                        return;
                    }

                    if (logAnswered && subscription is null)
                    {
                        // Redis answers again (or the first subscribe failed): subscribe, then read
                        // once more, so that nothing appended meanwhile waits for a safety poll.
                        subscription = await log.SubscribeAsync(key, Wake);
                        if (subscription is not null)
                        {
                            continue;
                        }
                    }
                }

                var now = timeProvider.GetUtcNow();
                var stalled = now - lastProgress > o.FollowStallCheck;
                if ((!logUsable || !logAnswered || logMissing || stalled) && now >= nextStorageRead)
                {
                    DispatchMetrics.MirrorStorageRead();
                    var (read, stored) = await ReadStoredAsync(mirror.UserId, key, stop);
                    if (read && stored?.State is not (ReplyState.Pending or ReplyState.Streaming))
                    {
                        StoredEnding.Finish(stream, stored);
                        return;
                    }

                    nextStorageRead = now + storageDelay;
                    storageDelay = TimeSpan.FromTicks(Math.Min(storageDelay.Ticks * 2, o.FollowStorageMaxInterval.Ticks));
                    if (stalled)
                    {
                        lastProgress = now;
                    }
                }

                var wait = logUsable && logAnswered && !logMissing ? o.FollowPollInterval : nextStorageRead - timeProvider.GetUtcNow();
                try
                {
                    await wake.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The last caller left.
        }
        catch (Exception ex)
        {
            // A bug or a storage failure that outlasted the retries: the callers see the stream
            // end without a final event and resume.
            Log.MirrorFailed(logger, key.ToString(), ex);
        }
        finally
        {
            // Callers first: whatever happens to the subscription, none of them waits on.
            stream.Abandon();
            try
            {
                if (subscription is not null)
                {
                    await subscription.DisposeAsync();
                }
            }
            catch (ObjectDisposedException)
            {
                // The connection is gone, and its subscriptions with it.
            }

            wake.Dispose();
        }
    }

    /// <summary>The reply as storage holds it (null: gone); Read is false when storage failed this time.</summary>
    private async Task<(bool Read, ChatTurn? Turn)> ReadStoredAsync(string userId, ReplyKey key, CancellationToken cancellationToken)
    {
        try
        {
            return (true, await ledger.GetReplyAsync(userId, key.ChatId, key.Seq, key.CandidateId, cancellationToken));
        }
        catch (StorageException ex)
        {
            Log.StorageReadFailed(logger, key.ToString(), ex.Message);
            return (false, null);
        }
    }

    /// <summary>One caller's hold on a mirror; disposing it lets the mirror go once no caller is left.</summary>
    public sealed class MirrorLease : IDisposable
    {
        private readonly ReplyMirrors _owner;
        private readonly Mirror _mirror;
        private int _disposed;

        internal MirrorLease(ReplyMirrors owner, Mirror mirror)
        {
            _owner = owner;
            _mirror = mirror;
        }

        public ReplyStream Stream => _mirror.Stream;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _owner.Leave(_mirror);
            }
        }
    }

    internal sealed class Mirror(ReplyKey key, string userId, bool settledWhenOpened)
    {
        private readonly Lock _gate = new();
        private readonly CancellationTokenSource _stop = new();
        private int _followers;
        private bool _closed;

        public ReplyStream Stream { get; } = new(key);

        public string UserId { get; } = userId;

        public bool SettledWhenOpened { get; } = settledWhenOpened;

        public CancellationToken Stopping => _stop.Token;

        public Task Pump { get; set; } = Task.CompletedTask;

        public bool TryAddFollower(out bool first)
        {
            lock (_gate)
            {
                first = _followers == 0;
                if (_closed)
                {
                    return false;
                }

                _followers++;
                return true;
            }
        }

        /// <summary>True when that was the last follower: the mirror is closed.</summary>
        public bool RemoveFollower()
        {
            lock (_gate)
            {
                if (--_followers > 0)
                {
                    return false;
                }

                _closed = true;
                return true;
            }
        }

        public void Close()
        {
            DispatchMetrics.MirrorClosed();
            // Not disposed: the pump may still be starting with its token; it holds no timer.
            _stop.Cancel();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3401, LogLevel.Warning, "The reply log of {Reply} has a hole; its followers here read storage instead.")]
        public static partial void LogUnusable(ILogger logger, string reply);

        [LoggerMessage(3402, LogLevel.Warning, "Following reply {Reply} failed; its callers here resume.")]
        public static partial void MirrorFailed(ILogger logger, string reply, Exception exception);

        [LoggerMessage(3403, LogLevel.Warning, "Reading reply {Reply} from storage for its followers failed ({Message}); retrying.")]
        public static partial void StorageReadFailed(ILogger logger, string reply, string message);
    }
}
