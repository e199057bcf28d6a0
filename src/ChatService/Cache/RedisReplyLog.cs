using System.Globalization;
using ChatService.Cache.Proto;
using ChatService.Chats;
using ChatService.Dispatch;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ChatService.Cache;

/// <summary>
/// The reply log in Redis Cluster: one Stream per reply, <c>chat:{chatId}:r:{seq}:{candidateId}</c>
/// (and one per continuation of it, with <c>:c{n}</c> after), in the chat's hash slot. Each entry is one append: a batch of events, its ID <c>0-N</c> where N is
/// the batch's last sequence, so that an exclusive XRANGE from <c>0-after</c> is a resume, and its
/// fields <c>a</c> (the attempt that wrote it), <c>x</c> (1 when the batch ends the reply),
/// <c>r</c> (the replica that wrote it) and <c>e</c> (the events, protobuf). Appends run as one script that refuses a batch that does not
/// follow the log's last event, comes from an older attempt, or follows a final event; it then
/// trims the stream, renews its expiry and wakes followers with SPUBLISH on a channel of the same
/// slot.
/// </summary>
internal sealed class RedisReplyLog(
    IConnectionMultiplexer redis, IOptions<RedisOptions> redisOptions, IOptions<DispatchOptions> dispatchOptions, IOptions<ChatOptions> chatOptions)
    : IReplyLog
{
    /// <summary>
    /// KEYS: log. ARGV: attempt, first sequence, last sequence, final (0/1), events, expiry ms,
    /// max entries, wake channel, mode, restart (1 when the batch starts with a Restarted event),
    /// the writing replica.
    /// Returns {status, last sequence, last attempt}: status 0 appended, 1 out of order (not
    /// right after the log's last event; a restart may jump ahead into its attempt's range), 2
    /// fenced by a later attempt, 3 the log has ended, 4 no log. Mode "end" appends events numbered
    /// 0 in their payload (the reader numbers them up to the entry's ID; ARGV[2] is their count)
    /// after whatever the log holds, from the next attempt's range on, as its last attempt, for a
    /// reply settled without its owner.
    /// </summary>
    private const string AppendScript =
        """
        local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        local lastSeq, lastAttempt, ended = 0, 0, false
        if #last > 0 then
          lastSeq = tonumber(string.sub(last[1][1], 3))
          local fields = last[1][2]
          for i = 1, #fields, 2 do
            if fields[i] == 'a' then lastAttempt = tonumber(fields[i + 1])
            elseif fields[i] == 'x' then ended = fields[i + 1] == '1' end
          end
        end
        if ended then return {3, lastSeq, lastAttempt} end
        local attempt, seq = tonumber(ARGV[1]), tonumber(ARGV[3])
        if ARGV[9] == 'end' then
          if #last == 0 then return {4, 0, 0} end
          -- Past any range a dead replica's callers may have seen events in.
          attempt, seq = lastAttempt, math.max(lastSeq, (lastAttempt + 1) * 4294967296) + tonumber(ARGV[2])
        else
          if lastAttempt > attempt then return {2, lastSeq, lastAttempt} end
          local first = tonumber(ARGV[2])
          if first ~= lastSeq + 1 and not (ARGV[10] == '1' and first > lastSeq) then return {1, lastSeq, lastAttempt} end
        end
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[7], '0-' .. seq, 'a', attempt, 'x', ARGV[4], 'r', ARGV[11], 'e', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        redis.call('SPUBLISH', ARGV[8], seq)
        return {0, seq, attempt}
        """;

    /// <summary>KEYS: log. ARGV: exclusive start ID. Returns false when the log does not exist, else the entries.</summary>
    private const string ReadScript =
        """
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        return redis.call('XRANGE', KEYS[1], ARGV[1], '+')
        """;

    private readonly RedisOptions _redis = redisOptions.Value;
    private readonly DispatchOptions _options = dispatchOptions.Value;

    public bool IsEnabled => true;

    public Task<ReplyLogAppend> AppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events) =>
        RunAppendAsync(key, attempt, events, mode: "append");

    public async Task EndAsync(ReplyKey key, ReplyUpdate final)
    {
        // Settled without its owner, the stored text need not continue what the log shows: a
        // Restarted first (in a range past any a dead replica's callers saw), then the stored text,
        // so the deltas after it add up to the stored text, then the final event.
        // A continuation settled so kept the text it had, which its Accepted event carries and a Restarted
        // does not drop: nothing was appended.
        List<ReplyUpdate> ending = [new(0, ReplyUpdateKind.Restarted, Text: "ended without the replica that was generating it")];
        if (key.Continuation == 0 && final.Turn is { Text.Length: > 0 } turn)
        {
            ending.Add(new ReplyUpdate(0, ReplyUpdateKind.Delta, Text: turn.Text));
        }

        ending.Add(final with { Sequence = 0 });
        if ((await RunAppendAsync(key, 0, ending, mode: "end")).Status == ReplyLogAppendStatus.Appended)
        {
            DispatchMetrics.LogAppended(ending.Count);
        }
    }

    private async Task<ReplyLogAppend> RunAppendAsync(ReplyKey key, int attempt, IReadOnlyList<ReplyUpdate> events, string mode)
    {
        var batch = new LoggedReplyBatch();
        foreach (var update in events)
        {
            batch.Events.Add(Encode(update));
        }

        var result = (RedisResult[])(await CallAsync(db => db.ScriptEvaluateAsync(AppendScript, [LogKey(key)],
        [
            attempt,
            mode == "end" ? events.Count : events[0].Sequence,
            events[^1].Sequence,
            events[^1].IsFinal ? 1 : 0,
            batch.ToByteArray(),
            (long)_options.LogRetention.TotalMilliseconds,
            _options.LogMaxEntries,
            WakeChannelName(key),
            mode,
            events[0].Kind == ReplyUpdateKind.Restarted ? 1 : 0,
            chatOptions.Value.ReplicaId,
        ])))!;
        var status = (int)result[0] switch
        {
            0 => ReplyLogAppendStatus.Appended,
            1 => ReplyLogAppendStatus.OutOfOrder,
            2 => ReplyLogAppendStatus.Fenced,
            3 => ReplyLogAppendStatus.Ended,
            _ => ReplyLogAppendStatus.Missing,
        };
        return new ReplyLogAppend(status, (long)result[1], (int)result[2]);
    }

    public async Task<ReplyLogRead> ReadAsync(ReplyKey key, long afterSequence)
    {
        DispatchMetrics.LogRead();
        var result = await CallAsync(db => db.ScriptEvaluateAsync(ReadScript, [LogKey(key)],
            [string.Create(CultureInfo.InvariantCulture, $"(0-{Math.Max(0, afterSequence)}")]));
        if (result.IsNull)
        {
            return ReplyLogRead.None;
        }

        try
        {
            return new ReplyLogRead(Decode(key.ChatId, (RedisResult[])result!, afterSequence), Missing: false);
        }
        catch (Exception ex) when (Unreadable(ex))
        {
            throw new ReplyLogCorruptException($"the reply log of {key} cannot be read: {ex.Message}", ex);
        }
    }

    public async Task<ReplyLogRead> ReadFirstAsync(ReplyKey key)
    {
        DispatchMetrics.LogRead();
        // XRANGE with COUNT 1: one entry whatever the log's length (a missing key reads as no entries).
        var first = await CallAsync(db => db.StreamRangeAsync(LogKey(key), minId: "-", maxId: "+", count: 1));
        if (first is not [var entry])
        {
            return ReplyLogRead.None;
        }

        try
        {
            var events = new List<ReplyUpdate>();
            DecodeEntry(key.ChatId, (string)entry.Id!, (byte[]?)entry["e"] ?? [], afterSequence: 0, events);
            return new ReplyLogRead(events, Missing: false);
        }
        catch (Exception ex) when (Unreadable(ex))
        {
            throw new ReplyLogCorruptException($"the reply log of {key} cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>What decoding a log entry throws when the entry is not one this service wrote.</summary>
    private static bool Unreadable(Exception ex) =>
        ex is FormatException or InvalidCastException or InvalidProtocolBufferException or IndexOutOfRangeException or OverflowException;

    private static List<ReplyUpdate> Decode(string chatId, RedisResult[] entries, long afterSequence)
    {
        var events = new List<ReplyUpdate>();
        foreach (var entry in entries)
        {
            var parts = (RedisResult[])entry!;
            var fields = (RedisResult[])parts[1]!;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                if ((string?)fields[i] == "e")
                {
                    DecodeEntry(chatId, (string)parts[0]!, (byte[])fields[i + 1]!, afterSequence, events);
                }
            }
        }

        return events;
    }

    /// <summary>The events of one entry (one append) after <paramref name="afterSequence"/>, added to <paramref name="events"/>.</summary>
    private static void DecodeEntry(string chatId, string entryId, byte[] payload, long afterSequence, List<ReplyUpdate> events)
    {
        // The entry's ID is "0-<its last sequence>": events logged without a sequence are numbered up to it.
        var entrySequence = long.Parse(entryId.AsSpan(2), CultureInfo.InvariantCulture);
        var batch = LoggedReplyBatch.Parser.ParseFrom(payload).Events;
        for (var j = 0; j < batch.Count; j++)
        {
            var logged = batch[j];
            if (logged.Sequence == 0)
            {
                logged.Sequence = entrySequence - (batch.Count - 1 - j);
            }

            if (logged.Sequence > afterSequence)
            {
                events.Add(Decode(chatId, logged));
            }
        }
    }

    public async Task<string?> WriterAsync(ReplyKey key)
    {
        var last = await CallAsync(db => db.StreamRangeAsync(LogKey(key), minId: "-", maxId: "+", count: 1, messageOrder: Order.Descending));

        if (last is not [var entry] || entry["x"] == "1")
        {
            return null;
        }

        var writer = (string?)entry["r"];
        return string.IsNullOrEmpty(writer) ? null : writer;
    }

    public async Task<IAsyncDisposable?> SubscribeAsync(ReplyKey key, Action wake)
    {
        var channel = RedisChannel.Sharded(WakeChannelName(key));
        Action<RedisChannel, RedisValue> handler = (_, _) => wake();
        var subscriber = redis.GetSubscriber();
        try
        {
            await subscriber.SubscribeAsync(channel, handler).WaitAsync(_redis.OperationTimeout * 4);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            _ = subscriber.UnsubscribeAsync(channel, handler);
            return null;
        }

        return new Subscription(subscriber, channel, handler);
    }

    public Task DeleteAsync(ReplyKey key) => CallAsync(db => db.KeyDeleteAsync(LogKey(key)));

    private async Task<T> CallAsync<T>(Func<IDatabase, Task<T>> call)
    {
        try
        {
            return await call(redis.GetDatabase()).WaitAsync(_redis.OperationTimeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            throw new ReplyLogUnavailableException(ex.Message, ex);
        }
    }

    /// <summary>The log of one generation of a reply: a continuation's (ContinueReply) is its own, <c>…:c&lt;n&gt;</c>.</summary>
    internal static RedisKey LogKey(ReplyKey key) => LogName(key);

    private static string WakeChannelName(ReplyKey key) => $"{LogName(key)}:wake";

    private static string LogName(ReplyKey key) => key.Continuation == 0
        ? $"chat:{{{key.ChatId}}}:r:{key.Seq}:{key.CandidateId}"
        : $"chat:{{{key.ChatId}}}:r:{key.Seq}:{key.CandidateId}:c{key.Continuation}";

    private static LoggedReplyEvent Encode(ReplyUpdate update)
    {
        var logged = new LoggedReplyEvent
        {
            Sequence = update.Sequence,
            Kind = (int)update.Kind,
            Text = update.Text ?? "",
            CharacterId = update.CharacterId ?? "",
            FailureCode = (int)(update.FailureCode ?? 0),
            FailureReason = update.FailureReason ?? "",
            Attempt = update.Attempt,
        };
        if (update.Turn is not null)
        {
            logged.Turn = WindowCodec.ToCached(update.Turn);
        }

        return logged;
    }

    private static ReplyUpdate Decode(string chatId, LoggedReplyEvent logged) => new(
        logged.Sequence,
        (ReplyUpdateKind)logged.Kind,
        logged.Turn is null ? null : WindowCodec.FromCached(chatId, logged.Turn),
        logged.Text.Length == 0 && (ReplyUpdateKind)logged.Kind != ReplyUpdateKind.Delta ? null : logged.Text,
        logged.CharacterId.Length == 0 ? null : logged.CharacterId,
        logged.FailureCode == 0 ? null : (ReplyFailureCode)logged.FailureCode,
        logged.FailureReason.Length == 0 ? null : logged.FailureReason,
        logged.Attempt);

    private sealed class Subscription(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Gone with the connection; nothing is left to remove.
            }
        }
    }
}
