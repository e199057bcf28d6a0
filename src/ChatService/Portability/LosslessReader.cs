using ChatService.Chats;

namespace ChatService.Portability;

/// <summary>Reads and checks a "chatservice.chat" file (see <see cref="LosslessFormat"/>) line by line.</summary>
internal static class LosslessReader
{
    private const int MaxIdChars = 64;
    private const int MaxNameChars = 256;

    /// <summary>
    /// Highest seq a file's turn may have: far above any chat's turn count, far below where the chat's
    /// NextSeq (the last seq, counted on by every send) could overflow.
    /// </summary>
    internal const long MaxSeq = 1_000_000_000;

    public static ParsedChat Read(ReadOnlyMemory<byte> data, ImportOptions options, int maxCharacters, int maxPinned, int maxNoteChars, int maxUserBytes)
    {
        ArchivedChat? chat = null;
        var headerLine = 1;
        var turns = new List<ArchivedTurn>();
        var candidates = 0;
        foreach (var line in ImportFile.Lines(data))
        {
            if (chat is null)
            {
                chat = Header(line, maxCharacters, maxPinned, maxNoteChars);
                headerLine = line.Number;
                continue;
            }

            if (turns.Count == options.MaxTurns)
            {
                throw line.Fail("(the line)", $"is past the most turns a chat may bring (Import:MaxTurns, {options.MaxTurns})");
            }

            var turn = Turn(line, options, maxUserBytes);
            if (turns.Count > 0 && turn.Seq <= turns[^1].Seq)
            {
                throw line.Fail("seq", $"must be greater than the previous turn's ({turns[^1].Seq}), got {turn.Seq}");
            }

            candidates += turn.Candidates.Count;
            if (candidates > options.MaxCandidates)
            {
                throw line.Fail("(the line)", $"is past the most candidates a file may bring (Import:MaxCandidates, {options.MaxCandidates}): this line brings the file to {candidates}");
            }

            turns.Add(turn);
        }

        if (chat is null)
        {
            throw ImportLine.Refuse(1, "format", "is required: the file is empty");
        }

        var seqs = turns.Select(t => t.Seq).ToHashSet();
        if (chat.PinnedSeqs.FirstOrDefault(seq => !seqs.Contains(seq)) is var missing and > 0)
        {
            throw ImportLine.Refuse(headerLine, "chat.pinned_seqs", $"names turn {missing}, which the file does not have");
        }

        return new ParsedChat(chat, turns, 0);
    }

    private static ArchivedChat Header(ImportLine line, int maxCharacters, int maxPinned, int maxNoteChars)
    {
        if (line.String("format", 64, required: true) != LosslessFormat.Name)
        {
            throw line.Fail("format", $"must be \"{LosslessFormat.Name}\" (the first line of a lossless export)");
        }

        if (line.Long("version", 1, int.MaxValue, required: true) != LosslessFormat.Version)
        {
            throw line.Fail("version", $"must be {LosslessFormat.Version}, the version this service reads");
        }

        var chat = line.Object("chat", required: true)!.Value;
        var characters = new List<ArchivedCharacter>();
        var listed = chat.Array("characters", maxCharacters, required: true);
        for (var i = 0; i < listed.Count; i++)
        {
            var member = chat.ObjectOf(listed[i], $"characters[{i}]")!.Value;
            characters.Add(new ArchivedCharacter(
                member.String("character_id", MaxIdChars, required: true)!,
                member.String("name", MaxNameChars) ?? ""));
        }

        var strategyName = chat.String("speaker_strategy", 16) ?? "rotation";
        var strategy = LosslessFormat.StrategyOf(strategyName) ?? throw line.Fail("chat.speaker_strategy", $"must be rotation, list or natural, got \"{strategyName}\"");
        var muted = chat.Array("muted_character_ids", maxCharacters).Select((m, i) => chat.StringOf(m, $"muted_character_ids[{i}]", MaxIdChars)!).ToList();
        var pins = chat.Array("pinned_seqs", maxPinned).Select((p, i) => chat.LongOf(p, $"pinned_seqs[{i}]", 1, MaxSeq)!.Value).Distinct().ToList();
        var depth = chat.Long("memory_depth", ChatMemory.AheadOfTurns, MemoryOptions.MaxDepth);
        return new ArchivedChat(
            chat.String("chat_id", MaxIdChars) ?? "",
            Title(chat),
            chat.Time("create_time") ?? DateTimeOffset.UnixEpoch,
            characters,
            new SpeakerSettings(strategy, muted),
            pins,
            chat.String("memory_note", maxNoteChars),
            depth is null ? null : (int)depth);
    }

    /// <summary>A title as CreateChat takes one (<see cref="ChatTitles"/>' rule).</summary>
    private static string Title(ImportLine chat)
    {
        // Two UTF-16 units a code point at most: the rule's own count decides.
        var title = chat.String("title", ChatTitles.MaxLength * 2) ?? "";
        return ChatTitles.Problem(title) is { } problem ? throw chat.Fail("title", problem) : title;
    }

    private static ArchivedTurn Turn(ImportLine line, ImportOptions options, int maxUserBytes)
    {
        var seq = line.Long("seq", 1, MaxSeq, required: true)!.Value;
        var role = line.String("role", 16, required: true) switch
        {
            "user" => AuthorRole.User,
            "character" => AuthorRole.Character,
            var other => throw line.Fail("role", $"must be user or character, got \"{other}\""),
        };
        var createTime = line.Time("create_time", required: true)!.Value;
        var replyTo = line.Long("reply_to_seq", 1, seq - 1);
        if (role == AuthorRole.User)
        {
            var revisions = Revisions(line, options, candidates: 0, maxUserBytes);
            var text = line.WithinBytes(line.String("text", options.MaxTextChars, required: true)!, "text", maxUserBytes);
            return new ArchivedTurn(seq, role, null, createTime, replyTo, text, line.Bool("edited") ?? false, 0, [], revisions)
            {
                Line = line.Number,
            };
        }

        var listed = line.Array("candidates", options.MaxCandidatesPerTurn, required: true);
        if (listed.Count == 0)
        {
            throw line.Fail("candidates", "must have at least one candidate");
        }

        var candidates = new List<ArchivedCandidate>();
        for (var i = 0; i < listed.Count; i++)
        {
            candidates.Add(Candidate(line.ObjectOf(listed[i], $"candidates[{i}]")!.Value, options));
        }

        var primary = (int)line.Long("primary", 0, candidates.Count - 1, required: true)!.Value;
        return new ArchivedTurn(seq, role, line.String("character_id", MaxIdChars), createTime, replyTo, null, false, primary, candidates,
            Revisions(line, options, candidates.Count, maxUserBytes))
        {
            SpeakerName = line.String("character_name", MaxNameChars),
            Line = line.Number,
        };
    }

    private static ArchivedCandidate Candidate(ImportLine c, ImportOptions options)
    {
        var stateName = c.String("state", 16, required: true);
        var state = LosslessFormat.StateOf(stateName!) ?? throw c.Fail("state", $"must be pending, streaming, complete, failed, cancelled or filtered, got \"{stateName}\"");
        TurnRating? rating = null;
        if (c.Object("rating") is { } r)
        {
            var tags = r.Array("tags", Api.RequestValidator.MaxRatingTags).Select((t, i) => r.StringOf(t, $"tags[{i}]", Api.RequestValidator.MaxRatingTagLength)!).ToList();
            if (tags.Any(t => t.Length == 0 || !t.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_')) || tags.Distinct().Count() != tags.Count)
            {
                throw c.Fail("rating.tags", "must be distinct tags of A-Z, a-z, 0-9, '-' and '_'");
            }

            rating = new TurnRating(
                (int)r.Long("stars", 1, 4, required: true)!.Value,
                tags,
                r.String("comment", Api.RequestValidator.MaxRatingCommentLength),
                r.Time("update_time") ?? DateTimeOffset.UnixEpoch);
        }

        if (state == ReplyState.Filtered)
        {
            // Withheld by moderation: kept filtered, with its category and no text, as the service stores one.
            if (c.String("text", options.MaxTextChars) is { Length: > 0 })
            {
                throw c.Fail("text", "must be absent or empty for a filtered candidate (moderation withheld it)");
            }

            return new ArchivedCandidate(c.String("candidate_id", MaxIdChars) ?? "", state, null, false, null, null, c.Time("create_time") ?? DateTimeOffset.UnixEpoch, rating)
            {
                FilterCategory = c.String("filter_category", 128) ?? "",
            };
        }

        return new ArchivedCandidate(
            c.String("candidate_id", MaxIdChars) ?? "",
            state,
            c.String("text", options.MaxTextChars) ?? "",
            c.Bool("edited") ?? false,
            c.String("failure_code", 64),
            c.String("failure_reason", options.MaxTextChars),
            c.Time("create_time") ?? DateTimeOffset.UnixEpoch,
            rating);
    }

    private static List<ArchivedRevision> Revisions(ImportLine line, ImportOptions options, int candidates, int maxUserBytes)
    {
        // As EditTurn keeps them: revisions 1 to TurnEdits.MaxRevisions, so a further edit of the imported turn works or is refused as on any other.
        var revisions = new List<ArchivedRevision>();
        var listed = line.Array("revisions", Storage.TurnEdits.MaxRevisions);
        for (var i = 0; i < listed.Count; i++)
        {
            var r = line.ObjectOf(listed[i], $"revisions[{i}]")!.Value;
            var number = r.Long("revision", 1, Storage.TurnEdits.MaxRevisions, required: true)!.Value;
            if (revisions.Count > 0 && number <= revisions[^1].Revision)
            {
                throw r.Fail("revision", "must grow from one revision to the next");
            }

            int? candidate = candidates == 0
                ? r.Has("candidate") ? throw r.Fail("candidate", "is only for a character turn's revisions") : null
                : (int)r.Long("candidate", 0, candidates - 1, required: true)!.Value;
            var text = r.String("text", options.MaxTextChars, required: true)!;
            if (candidates == 0)
            {
                r.WithinBytes(text, "text", maxUserBytes);
            }

            revisions.Add(new ArchivedRevision(number, candidate, text, r.Time("edit_time") ?? DateTimeOffset.UnixEpoch));
        }

        return revisions;
    }
}
