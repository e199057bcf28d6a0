using System.Text;
using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>Ends a reply's stream with the outcome storage holds, numbered on from what the stream already shows.</summary>
internal static class StoredEnding
{
    /// <summary>
    /// The text the stream is missing as one delta when the stored text continues what it shows
    /// (since its last Restarted, after a continuation's text so far), else a Restarted and the whole
    /// stored text (beyond the continuation's text so far); then the final
    /// event (Failed with the continuation's failure for a continuation that was undone, as its stream ended).
    /// An empty stream becomes the replay of a stored reply: Accepted, Started, the text,
    /// the end. A reply that no longer exists ends Failed NOT_FOUND.
    /// </summary>
    public static void Finish(ReplyStream stream, ChatTurn? turn)
    {
        if (turn is null)
        {
            stream.Publish(ReplyUpdateKind.Failed, failureCode: ReplyFailureCode.NotFound, failureReason: "the reply no longer exists");
            return;
        }

        var held = stream.Snapshot(0);
        if (held.Count == 0)
        {
            stream.Publish(ReplyUpdateKind.Accepted, turn: turn with { State = ReplyState.Pending, Text = "" });
            stream.Publish(ReplyUpdateKind.Started, characterId: turn.CharacterId);
        }

        // A continuation's deltas add to the text its Accepted event carries (a Restarted keeps that text).
        var before = AcceptedText(held);
        var shown = before + ShownText(held);
        if (turn.Text.StartsWith(shown, StringComparison.Ordinal))
        {
            if (turn.Text.Length > shown.Length)
            {
                stream.Publish(ReplyUpdateKind.Delta, text: turn.Text[shown.Length..]);
            }
        }
        else
        {
            stream.Publish(ReplyUpdateKind.Restarted, text: "the stored reply differs from what was streamed; here it is whole");
            var rest = turn.Text.StartsWith(before, StringComparison.Ordinal) ? turn.Text[before.Length..] : turn.Text;
            if (rest.Length > 0)
            {
                stream.Publish(ReplyUpdateKind.Delta, text: rest);
            }
        }

        // An undone continuation's failure is how that continuation ended, not an earlier one (a repeat of which ends as the candidate is).
        var final = ReplyUpdate.FinalOf(stream.Key.Continuation == turn.Continuations ? turn : turn with { UndoneContinuation = null }, sequence: 0);
        stream.Publish(final.Kind, turn: turn, failureCode: final.FailureCode, failureReason: final.FailureReason);
    }

    /// <summary>The text the stream's Accepted event shows the reply with: a continuation's text so far, else none.</summary>
    public static string AcceptedText(IEnumerable<ReplyUpdate> events) =>
        events.FirstOrDefault(u => u.Kind == ReplyUpdateKind.Accepted)?.Turn?.Text ?? "";

    /// <summary>The text of the deltas after the last Restarted.</summary>
    public static string ShownText(IEnumerable<ReplyUpdate> events)
    {
        var text = new StringBuilder();
        foreach (var update in events)
        {
            if (update.Kind == ReplyUpdateKind.Restarted)
            {
                text.Clear();
            }
            else if (update.Kind == ReplyUpdateKind.Delta)
            {
                text.Append(update.Text);
            }
        }

        return text.ToString();
    }
}
