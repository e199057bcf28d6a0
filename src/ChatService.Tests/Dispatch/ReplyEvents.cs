using System.Diagnostics;
using System.Globalization;
using ChatService.Chats;
using ChatService.Dispatch;

namespace ChatService.Tests.Dispatch;

/// <summary>Replies, turns and events for the tests of the reply log, its writer and its mirrors.</summary>
internal static class ReplyEvents
{
    /// <summary>A reply of a chat of its own.</summary>
    public static ReplyKey NewKey() => new("chat-" + Guid.NewGuid().ToString("N")[..12], 3, "cand-1");

    /// <summary>A reply turn as storage would hand it out (its create time whole microseconds, as stored).</summary>
    public static ChatTurn Turn(ReplyKey key, ReplyState state, string text, string? failureReason = null) => new(
        key.ChatId, key.Seq, AuthorRole.Character, "char-1", text, state, key.CandidateId, CandidateCount: 1,
        CreateTime: DateTimeOffset.UnixEpoch.AddTicks(1_760_000_000_123_456L * TimeSpan.TicksPerMicrosecond),
        failureReason, ReplyToSeq: key.Seq - 1, Version: 1_760_000_000_999_999L);

    public static ReplyUpdate Accepted(long sequence, ChatTurn? turn = null) => new(sequence, ReplyUpdateKind.Accepted, turn);

    public static ReplyUpdate Started(long sequence) => new(sequence, ReplyUpdateKind.Started, CharacterId: "char-1");

    public static ReplyUpdate Delta(long sequence, string text) => new(sequence, ReplyUpdateKind.Delta, Text: text);

    public static ReplyUpdate Restarted(long sequence, int attempt) =>
        new(sequence, ReplyUpdateKind.Restarted, Text: "generating it again", Attempt: attempt);

    public static ReplyUpdate Completed(long sequence, ChatTurn turn) => new(sequence, ReplyUpdateKind.Completed, turn);

    /// <summary>The text the deltas after the last Restarted event make.</summary>
    public static string Text(IEnumerable<ReplyUpdate> events)
    {
        var text = "";
        foreach (var update in events)
        {
            text = update.Kind switch
            {
                ReplyUpdateKind.Restarted => "",
                ReplyUpdateKind.Delta => text + update.Text,
                _ => text,
            };
        }

        return text;
    }

    /// <summary>Events one per line, for failure messages.</summary>
    public static string Describe(IEnumerable<ReplyUpdate> events) =>
        string.Join('\n', events.Select(e => string.Create(CultureInfo.InvariantCulture,
            $"  #{e.Sequence} {e.Kind} text=\"{e.Text}\" attempt={e.Attempt} turn={e.Turn?.State}:\"{e.Turn?.Text}\" code={e.FailureCode}")));

    /// <summary>Waits, at most <paramref name="timeout"/>, until <paramref name="condition"/> holds; fails the test with <paramref name="what"/> otherwise.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"not within {timeout.TotalMilliseconds:0} ms: {what()}");
            }

            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Reads a reply stream to its end in the background.</summary>
    public static Task<List<ReplyUpdate>> ReadToEndAsync(ReplyStream stream) => Task.Run(async () =>
    {
        var events = new List<ReplyUpdate>();
        await foreach (var batch in stream.ReadBatchesAsync(0, TestContext.Current.CancellationToken))
        {
            events.AddRange(batch);
        }

        return events;
    });
}
