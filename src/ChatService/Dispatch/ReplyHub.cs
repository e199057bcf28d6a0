using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Dispatch;

/// <summary>
/// The live streams of the replies this replica owes. A finished stream stays for a while so
/// that a client reconnecting right after the end still reads it from memory; after that,
/// streams are served from storage.
/// </summary>
public sealed class ReplyHub(IOptions<DispatchOptions> options, TimeProvider timeProvider)
{
    private readonly ConcurrentDictionary<ReplyKey, ReplyStream> _streams = new();

    /// <summary>
    /// The reply's stream, created with its Accepted event (sequence 1) when new. Returns false
    /// in <paramref name="created"/> when a stream already existed.
    /// </summary>
    public ReplyStream Open(ReplyKey key, ChatTurn? pendingTurn, out bool created)
    {
        var fresh = new ReplyStream(key);
        var stream = _streams.GetOrAdd(key, fresh);
        created = ReferenceEquals(stream, fresh);
        if (created)
        {
            stream.Publish(ReplyUpdateKind.Accepted, turn: pendingTurn);
            _ = RemoveWhenEndedAsync(stream);
        }

        return stream;
    }

    public bool TryGet(ReplyKey key, [NotNullWhen(true)] out ReplyStream? stream) => _streams.TryGetValue(key, out stream);

    /// <summary>Drops a stream that will never be worked here (its job could not be queued).</summary>
    public void Discard(ReplyStream stream)
    {
        stream.Abandon();
        _streams.TryRemove(new KeyValuePair<ReplyKey, ReplyStream>(stream.Key, stream));
    }

    private async Task RemoveWhenEndedAsync(ReplyStream stream)
    {
        DispatchMetrics.OwedChanged(+1);
        await stream.Ended;
        DispatchMetrics.OwedChanged(-1);
        await Task.Delay(options.Value.FinishedStreamRetention, timeProvider);
        _streams.TryRemove(new KeyValuePair<ReplyKey, ReplyStream>(stream.Key, stream));
    }
}
