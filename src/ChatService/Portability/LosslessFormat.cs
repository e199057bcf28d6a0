using System.Text.Json;
using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>
/// This service's own chat file, "chatservice.chat" version 1 (docs/chat-export-format.md): a header
/// line with the chat's settings, then one line per shown turn with all its candidates, the owner's
/// ratings and the texts it had before edits.
/// </summary>
internal static class LosslessFormat
{
    public const string Name = "chatservice.chat";
    public const int Version = 1;

    public static byte[] Header(ArchivedChat chat) => JsonLine.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("format", Name);
        w.WriteNumber("version", Version);
        w.WriteStartObject("chat");
        w.WriteString("chat_id", chat.ChatId);
        w.WriteString("title", chat.Title);
        w.WriteString("create_time", JsonLine.Time(chat.CreateTime));
        w.WriteStartArray("characters");
        foreach (var character in chat.Characters)
        {
            w.WriteStartObject();
            w.WriteString("character_id", character.CharacterId);
            w.WriteString("name", character.Name);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("speaker_strategy", StrategyName(chat.Speakers.Strategy));
        WriteStrings(w, "muted_character_ids", chat.Speakers.Muted);
        w.WriteStartArray("pinned_seqs");
        foreach (var seq in chat.PinnedSeqs)
        {
            w.WriteNumberValue(seq);
        }

        w.WriteEndArray();
        if (chat.MemoryNote is { Length: > 0 } note)
        {
            w.WriteString("memory_note", note);
        }

        if (chat.MemoryDepth is { } depth)
        {
            w.WriteNumber("memory_depth", depth);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static byte[] Turn(ArchivedChat chat, ArchivedTurn turn) => JsonLine.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("seq", turn.Seq);
        w.WriteString("role", turn.Role == AuthorRole.User ? "user" : "character");
        w.WriteString("create_time", JsonLine.Time(turn.CreateTime));
        if (turn.ReplyToSeq is { } replyTo)
        {
            w.WriteNumber("reply_to_seq", replyTo);
        }

        if (turn.Role == AuthorRole.User)
        {
            w.WriteString("text", turn.Text ?? "");
            w.WriteBoolean("edited", turn.Edited);
        }
        else
        {
            w.WriteString("character_id", turn.CharacterId);
            w.WriteString("character_name", chat.NameOf(turn.CharacterId));
            w.WriteNumber("primary", turn.Primary);
            w.WriteStartArray("candidates");
            foreach (var candidate in turn.Candidates)
            {
                WriteCandidate(w, candidate);
            }

            w.WriteEndArray();
        }

        if (turn.Revisions.Count > 0)
        {
            w.WriteStartArray("revisions");
            foreach (var revision in turn.Revisions)
            {
                w.WriteStartObject();
                w.WriteNumber("revision", revision.Revision);
                if (revision.Candidate is { } index)
                {
                    w.WriteNumber("candidate", index);
                }

                w.WriteString("text", revision.Text);
                w.WriteString("edit_time", JsonLine.Time(revision.EditTime));
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    });

    private static void WriteCandidate(Utf8JsonWriter w, ArchivedCandidate candidate)
    {
        w.WriteStartObject();
        w.WriteString("candidate_id", candidate.CandidateId);
        w.WriteString("state", StateName(candidate.State));
        if (candidate.State == ReplyState.Filtered)
        {
            // Withheld by moderation: its category, never its text.
            w.WriteString("filter_category", candidate.FilterCategory ?? "");
        }
        else
        {
            w.WriteString("text", candidate.Text ?? "");
        }

        w.WriteBoolean("edited", candidate.Edited);
        w.WriteString("create_time", JsonLine.Time(candidate.CreateTime));
        if (candidate.FailureCode is { } code)
        {
            w.WriteString("failure_code", code);
        }

        if (candidate.FailureReason is { } reason)
        {
            w.WriteString("failure_reason", reason);
        }

        if (candidate.Rating is { } rating)
        {
            w.WriteStartObject("rating");
            w.WriteNumber("stars", rating.Stars);
            WriteStrings(w, "tags", rating.Tags);
            if (rating.Comment is { } comment)
            {
                w.WriteString("comment", comment);
            }

            w.WriteString("update_time", JsonLine.Time(rating.UpdateTime));
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }

        w.WriteEndArray();
    }

    public static string StrategyName(SpeakerStrategy strategy) => strategy switch
    {
        SpeakerStrategy.List => "list",
        SpeakerStrategy.Natural => "natural",
        _ => "rotation",
    };

    public static SpeakerStrategy? StrategyOf(string name) => name switch
    {
        "rotation" => SpeakerStrategy.Rotation,
        "list" => SpeakerStrategy.List,
        "natural" => SpeakerStrategy.Natural,
        _ => null,
    };

    public static string StateName(ReplyState state) => state switch
    {
        ReplyState.Pending => "pending",
        ReplyState.Streaming => "streaming",
        ReplyState.Complete => "complete",
        ReplyState.Failed => "failed",
        ReplyState.Cancelled => "cancelled",
        ReplyState.Filtered => "filtered",

        // Every state is named above: a new one must get its own name, never pass for another.
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "a reply state the lossless format has no name for"),
    };

    public static ReplyState? StateOf(string name) => name switch
    {
        "pending" => ReplyState.Pending,
        "streaming" => ReplyState.Streaming,
        "complete" => ReplyState.Complete,
        "failed" => ReplyState.Failed,
        "cancelled" => ReplyState.Cancelled,
        "filtered" => ReplyState.Filtered,
        _ => null,
    };
}
