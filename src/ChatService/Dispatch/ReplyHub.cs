using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// The replies this replica owns, each an <see cref="OwnedReply"/> opened here and nowhere else. A
/// closed one stays for a while so that a client reconnecting right after the end still reads its
/// stream from memory; after that, streams come from the shared log or storage.
/// </summary>
public sealed class ReplyHub(ReplyServices services, IOptions<DispatchOptions> options, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<ReplyKey, OwnedReply> _replies = new();

    /// <summary>
    /// Takes ownership of a reply whose lease this replica holds. Null when it is owned here already
    /// and not closed (queued or generating: that one keeps it); a closed one is replaced.
    /// </summary>
    /// <param name="attempt">1 for a reply just recorded, more for one claimed by recovery.</param>
    /// <param name="pendingTurn">The recorded reply turn, for the Accepted event of a first attempt.</param>
    public OwnedReply? Open(ReplyKey key, int attempt, ChatTurn? pendingTurn = null)
    {
        while (true)
        {
            if (_replies.TryGetValue(key, out var existing))
            {
                if (!existing.Stream.IsEnded)
                {
                    return null;
                }

                var replacement = new OwnedReply(key, attempt, services);
                if (_replies.TryUpdate(key, replacement, existing))
                {
                    return Opened(replacement, pendingTurn);
                }

                continue;
            }

            var owned = new OwnedReply(key, attempt, services);
            if (_replies.TryAdd(key, owned))
            {
                return Opened(owned, pendingTurn);
            }
        }
    }

    private OwnedReply Opened(OwnedReply owned, ChatTurn? pendingTurn)
    {
        owned.Open(pendingTurn);
        _ = RemoveWhenEndedAsync(owned);
        return owned;
    }

    public bool TryGet(ReplyKey key, [NotNullWhen(true)] out OwnedReply? owned) => _replies.TryGetValue(key, out owned);

    /// <summary>Whether <c>Dispatch:StageTimings</c> is on.</summary>
    public bool StageTimings => options.Value.StageTimings;

    /// <summary>
    /// Marks a stage of a reply owned here. Its stages exist only with <c>Dispatch:StageTimings</c>; callers skip
    /// the lookup when it is off (<see cref="StageTimings"/>).
    /// </summary>
    public void Mark(ReplyKey key, ReplyStage stage)
    {
        if (_replies.TryGetValue(key, out var owned))
        {
            owned.Stages?.Mark(stage);
        }
    }

    private async Task RemoveWhenEndedAsync(OwnedReply owned)
    {
        DispatchMetrics.OwedChanged(+1);
        await owned.Ended;
        DispatchMetrics.OwedChanged(-1);
        await Task.Delay(options.Value.FinishedStreamRetention, timeProvider);
        _replies.TryRemove(new KeyValuePair<ReplyKey, OwnedReply>(owned.Key, owned));
    }
}
