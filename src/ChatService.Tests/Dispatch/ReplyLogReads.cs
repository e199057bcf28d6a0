using System.Collections.Concurrent;
using ChatService.Chats;
using ChatService.Dispatch;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// Wraps the service's reply log and counts its reads per log: whole reads from the start (<see cref="IReplyLog.ReadAsync"/>
/// after sequence 0) and first-entry reads (<see cref="IReplyLog.ReadFirstAsync"/>). Everything else passes through.
/// </summary>
public sealed class ReplyLogReads
{
    private readonly ConcurrentDictionary<ReplyKey, int> _whole = new();
    private readonly ConcurrentDictionary<ReplyKey, int> _first = new();

    /// <summary>Reads of <paramref name="key"/>'s log from its start.</summary>
    public int Whole(ReplyKey key) => _whole.GetValueOrDefault(key);

    /// <summary>Reads of <paramref name="key"/>'s first entry.</summary>
    public int First(ReplyKey key) => _first.GetValueOrDefault(key);

    internal IReplyLog Wrap(IReplyLog inner) => new Counting(inner, this);

    private sealed class Counting(IReplyLog inner, ReplyLogReads reads) : IReplyLog
    {
        public bool IsEnabled => inner.IsEnabled;

        public Task<ReplyLogAppend> AppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events) => inner.AppendAsync(key, attempt, events);

        public Task EndAsync(ReplyKey key, ReplyUpdate final) => inner.EndAsync(key, final);

        public Task<ReplyLogRead> ReadAsync(ReplyKey key, long afterSequence)
        {
            if (afterSequence == 0)
            {
                reads._whole.AddOrUpdate(key, 1, (_, n) => n + 1);
            }

            return inner.ReadAsync(key, afterSequence);
        }

        public Task<ReplyLogRead> ReadFirstAsync(ReplyKey key)
        {
            reads._first.AddOrUpdate(key, 1, (_, n) => n + 1);
            return inner.ReadFirstAsync(key);
        }

        public Task<string?> WriterAsync(ReplyKey key) => inner.WriterAsync(key);

        public Task<IAsyncDisposable?> SubscribeAsync(ReplyKey key, Action wake) => inner.SubscribeAsync(key, wake);

        public Task DeleteAsync(ReplyKey key) => inner.DeleteAsync(key);
    }
}
