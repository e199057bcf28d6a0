using System.Collections;
using System.Globalization;

namespace ChatService.Chats;

/// <summary>
/// A logging scope naming the chat (and, once known, the turn and candidate) a piece of work is
/// about, so every log line written under it carries <c>ChatId</c>, <c>TurnSeq</c> and
/// <c>CandidateId</c> as structured properties (JSON console logs, OpenTelemetry logs). The turn can
/// be filled in later, when it is only allocated part way through a request.
/// </summary>
public sealed class ChatLogScope(string chatId, long? turnSeq = null, string? candidateId = null) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private long _turnSeq = turnSeq ?? 0;

    public string ChatId { get; } = chatId;

    public string? CandidateId { get; } = candidateId;

    /// <summary>The turn, or null while it is not known yet.</summary>
    public long? TurnSeq
    {
        get
        {
            var seq = Interlocked.Read(ref _turnSeq);
            return seq > 0 ? seq : null;
        }

        set => Interlocked.Exchange(ref _turnSeq, value ?? 0);
    }

    public int Count => 1 + (TurnSeq is null ? 0 : 1) + (CandidateId is null ? 0 : 1);

    public KeyValuePair<string, object?> this[int index] => Properties().ElementAt(index);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => Properties().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>What the plain-text console formatter shows for the scope.</summary>
    public override string ToString() => string.Join(" ", Properties().Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}:{p.Value}")));

    private IEnumerable<KeyValuePair<string, object?>> Properties()
    {
        yield return new("ChatId", ChatId);
        if (TurnSeq is { } seq)
        {
            yield return new("TurnSeq", seq);
        }

        if (CandidateId is not null)
        {
            yield return new("CandidateId", CandidateId);
        }
    }
}
