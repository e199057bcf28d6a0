using ChatService.Chats;
using Microsoft.Extensions.AI;

namespace ChatService.Inference;

public static partial class PromptBuilder
{
    /// <summary>What the summary message starts with.</summary>
    internal const string SummaryLabel = "Summary of the earlier conversation:\n";

    /// <summary>
    /// A reply's prompt, laid out and kept within <paramref name="budgets"/> by their tokenizer.
    /// <para>
    /// Order: one system message (the system prompt, lore at <see cref="LorePosition.BeforeDefinition"/>, the
    /// character's definition with the user's persona, lore at <see cref="LorePosition.AfterDefinition"/>);
    /// the pinned turns older than the recent ones; the memory note (here when
    /// <see cref="PromptMemory.NoteDepth"/> is null); the summary; lore at
    /// <see cref="LorePosition.BeforeHistory"/>; the recent turns oldest first, with the note at its depth and
    /// lore <see cref="LorePosition.AtDepth"/> among them; the post-history instructions.
    /// </para>
    /// <para>
    /// Room is given in priority order, each section up to its own ceiling and what is left of the
    /// whole: first the newest user turn (never dropped; cut from its front only when it alone is over
    /// the whole budget), then the system message with the definition and the persona (cut as
    /// <see cref="CutOrder"/> says), the pins (newest first, whole), the memory note (its end cut), the
    /// summary (its beginning cut), the lore (entries with the lowest <see cref="LoreInsertion.Order"/>
    /// dropped until the rest fits), the other recent turns (newest first, contiguous) and the post-history
    /// instructions (whole or not at all). So what is trimmed first is what comes last in that order.
    /// </para>
    /// <para>
    /// A continuation (<paramref name="prefill"/>, the reply's text so far) ends the prompt as an assistant
    /// message after everything else, the post-history instructions included, so the model goes on from it.
    /// It is given room right after the newest user turn and counted with the history; when it does not fit
    /// the whole budget its beginning is cut (its end is where the model goes on).
    /// </para>
    /// </summary>
    public static AssembledPrompt Assemble(
        CharacterPrompt definition,
        string speakerCharacterId,
        IReadOnlyList<PromptTurn> windowOldestFirst,
        IReadOnlyDictionary<string, string> characterNames,
        IReadOnlyList<PromptTurn> pinnedOldestFirst,
        PromptMemory memory,
        PromptBudgets budgets,
        string? prefill = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(windowOldestFirst);
        ArgumentNullException.ThrowIfNull(characterNames);
        ArgumentNullException.ThrowIfNull(pinnedOldestFirst);
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(budgets);
        var tokenizer = budgets.Tokenizer;
        var sections = new int[AssembledPrompt.SectionCount];

        // The reply's priming is always spent.
        var left = budgets.PromptTokens - PromptTokenizer.MessageOverhead;

        // Set once a section had to give way to the whole budget (not to its own ceiling): every section
        // after it gets nothing, so nothing of lower priority is ever sent while something higher was cut.
        var exhausted = false;
        int Room(int ceiling) => exhausted ? 0 : Math.Max(0, Math.Min(ceiling, left));
        void GaveWay(int ceiling) => exhausted |= left < ceiling;

        // The recent turns as messages, newest first, and the newest user turn among them.
        var recent = new List<(PromptTurn Turn, ChatMessage Message, int Cost)>();
        for (var i = windowOldestFirst.Count - 1; i >= 0; i--)
        {
            var turn = windowOldestFirst[i];
            if (string.IsNullOrWhiteSpace(turn.Text))
            {
                // A reply that failed before any text carries nothing the model should see.
                continue;
            }

            var message = TurnMessage(turn, speakerCharacterId, characterNames);
            recent.Add((turn, message, tokenizer.CountMessage(message.Text)));
        }

        var newestUser = recent.FindIndex(r => r.Turn.IsUser);
        if (newestUser < 0 && recent.Count > 0)
        {
            newestUser = 0;
        }

        // 1. The newest user turn, leaving room for the least of the system message (the labels that are always there).
        var postHistoryText = Macros.Expand(Macros.ExpandOriginal(definition.PostHistoryInstructions, ""), definition.CharacterName, definition.UserName);
        // The definition's placeholders are replaced once; every size tried below only cuts.
        var expanded = Sections(definition with { PostHistoryInstructions = "" });
        var leastSystem = tokenizer.CountMessage(Compose(expanded, 0).System);
        if (newestUser >= 0 && recent[newestUser].Cost > left - leastSystem)
        {
            var (turn, message, _) = recent[newestUser];
            var cut = new ChatMessage(message.Role, FitTail(message.Text, left - leastSystem - PromptTokenizer.MessageOverhead, tokenizer));
            recent[newestUser] = (turn, cut, tokenizer.CountMessage(cut.Text));
        }

        if (newestUser >= 0)
        {
            left -= recent[newestUser].Cost;
        }

        // 1b. A continuation's reply so far, the last message: it goes on from its end.
        ChatMessage? prefillMessage = null;
        if (!string.IsNullOrWhiteSpace(prefill))
        {
            // At least its last MinPrefillTokens, even past a budget the newest user turn filled: a
            // continuation without the text it goes on from would be a fresh reply appended to the old.
            var room = Math.Max(left - leastSystem - PromptTokenizer.MessageOverhead, MinPrefillTokens);
            var fitted = tokenizer.Count(prefill) <= room ? prefill : FitTail(prefill, room, tokenizer);
            if (!string.IsNullOrWhiteSpace(fitted))
            {
                prefillMessage = new ChatMessage(ChatRole.Assistant, fitted);
                left = Math.Max(0, left - tokenizer.CountMessage(fitted));
            }
        }

        // 2. The system prompt, the definition and the persona.
        var definitionRoom = Room(budgets.DefinitionTokens) - PromptTokenizer.MessageOverhead;
        var (system, _) = Compose(expanded, int.MaxValue);
        var systemTokens = tokenizer.Count(system);
        var systemChars = system.Length;
        var systemCut = false;
        for (var tries = 0; systemTokens > definitionRoom && systemChars > 0; tries++)
        {
            // Characters per token vary with the text, so aim a little under and check again; after a few
            // tries (text whose density varies a lot) take a fixed share off each time, so it always ends.
            systemChars = tries < 8
                ? (int)Math.Min(systemChars - 1L, (long)systemChars * Math.Max(0, definitionRoom) / systemTokens * 95 / 100)
                : systemChars * 3 / 4;
            (system, _) = Compose(expanded, Math.Max(0, systemChars));
            systemTokens = tokenizer.Count(system);
            systemCut = true;
        }

        if (systemCut)
        {
            GaveWay(budgets.DefinitionTokens);
        }

        left -= systemTokens + PromptTokenizer.MessageOverhead;

        // 3. The pins older than the recent turns the history's own ceiling would keep (a pinned turn
        // among those counts as a recent turn, as it always did).
        var oldestRecentBound = OldestWithin(recent, newestUser, budgets.HistoryTokens);
        var pins = new List<ChatMessage>();
        var pinsRoom = Room(budgets.PinnedTokens);
        var pinLeftOut = false;
        for (var i = pinnedOldestFirst.Count - 1; i >= 0; i--)
        {
            var turn = pinnedOldestFirst[i];
            if (turn.Seq >= oldestRecentBound || string.IsNullOrWhiteSpace(turn.Text))
            {
                continue;
            }

            var message = TurnMessage(turn, speakerCharacterId, characterNames);
            var cost = tokenizer.CountMessage(message.Text);
            if (cost > pinsRoom)
            {
                // A pin longer than what is left is left out; an older, shorter one may still fit.
                pinLeftOut = true;
                continue;
            }

            pins.Add(message);
            pinsRoom -= cost;
            sections[(int)PromptSection.Pins] += cost;
        }

        pins.Reverse();
        if (pinLeftOut)
        {
            GaveWay(budgets.PinnedTokens);
        }

        left -= sections[(int)PromptSection.Pins];

        // 4. The memory note; 5. the summary.
        var note = Fit(memory.Note, Room(budgets.MemoryTokens), tokenizer, keepEnd: false);
        if (!string.IsNullOrWhiteSpace(memory.Note) && !ReferenceEquals(note, memory.Note))
        {
            GaveWay(budgets.MemoryTokens);
        }

        sections[(int)PromptSection.Memory] = note is null ? 0 : tokenizer.CountMessage(note);
        left -= sections[(int)PromptSection.Memory];
        var wholeSummary = memory.Summary is { Length: > 0 } s ? SummaryLabel + s : null;
        var summary = Fit(wholeSummary, Room(budgets.SummaryTokens), tokenizer, keepEnd: true, keepStart: SummaryLabel.Length);
        if (!string.IsNullOrWhiteSpace(wholeSummary) && !ReferenceEquals(summary, wholeSummary))
        {
            GaveWay(budgets.SummaryTokens);
        }

        sections[(int)PromptSection.Summary] = summary is null ? 0 : tokenizer.CountMessage(summary);
        left -= sections[(int)PromptSection.Summary];

        // 6. The lore: over its room, the lowest orders go first.
        var lore = memory.Lore.Where(l => !string.IsNullOrWhiteSpace(l.Text))
            .Select(l => (Entry: l, Cost: tokenizer.CountMessage(l.Text)))
            .OrderBy(l => l.Entry.Order).ThenBy(l => l.Entry.EntryId, StringComparer.Ordinal)
            .ToList();
        var loreRoom = Room(budgets.LoreTokens);
        var loreCost = lore.Sum(l => l.Cost);
        if (loreCost > loreRoom)
        {
            GaveWay(budgets.LoreTokens);
        }

        while (loreCost > loreRoom)
        {
            loreCost -= lore[0].Cost;
            lore.RemoveAt(0);
        }

        left -= loreCost;
        sections[(int)PromptSection.Lore] = loreCost;

        // The summary trigger's bound: the turns the history could hold without this prompt's one-offs (its
        // newest user turn and its triggered lore), so a summary never covers turns a later prompt shows again.
        var newestCost = newestUser >= 0 ? recent[newestUser].Cost : 0;
        var ceilingSeq = OldestWithin(recent, newestUser, Math.Min(budgets.HistoryTokens, left + loreCost + newestCost) + newestCost);

        // 7. The other recent turns, newest first, contiguous; the newest user turn is in already.
        var historyCeiling = budgets.HistoryTokens - (newestUser >= 0 ? recent[newestUser].Cost : 0);
        var historyRoom = Room(historyCeiling);
        var kept = new List<(PromptTurn Turn, ChatMessage Message, int Cost)>();
        var full = false;
        for (var i = 0; i < recent.Count; i++)
        {
            if (i == newestUser)
            {
                kept.Add(recent[i]);
                continue;
            }

            if (!full && recent[i].Cost > historyRoom)
            {
                GaveWay(historyCeiling);
                full = true;
            }

            if (full)
            {
                // Older turns are never kept once a newer one did not fit: the window stays contiguous,
                // but for the newest user turn, which is kept even when a turn after it was not.
                if (i > newestUser)
                {
                    break;
                }

                continue;
            }

            kept.Add(recent[i]);
            historyRoom -= recent[i].Cost;
        }

        kept.Reverse();
        // The newest user turn was taken off at step 1.
        left -= kept.Where(k => newestUser < 0 || !ReferenceEquals(k.Turn, recent[newestUser].Turn)).Sum(k => k.Cost);

        // 8. The post-history instructions, whole or not at all.
        var postHistory = postHistoryText.Length > 0 && tokenizer.CountMessage(postHistoryText) <= Room(int.MaxValue) ? postHistoryText : "";

        return Lay(definition, expanded, system, systemTokens + PromptTokenizer.MessageOverhead, systemChars, pins, sections, note, memory.NoteDepth, summary,
            lore.Select(l => l.Entry).ToList(), kept, postHistory, prefillMessage, tokenizer, budgets.PromptTokens) with { HistoryCeilingSeq = ceilingSeq == long.MaxValue ? 0 : ceilingSeq };
    }

    /// <summary>
    /// Puts the chosen parts in their order and counts each section of the result, taking the counts the
    /// choice already made (<paramref name="systemCost"/>, <paramref name="counted"/> for the pins, the note
    /// and the summary, each kept turn's cost) rather than counting the same texts again.
    /// </summary>
    private static AssembledPrompt Lay(
        CharacterPrompt definition,
        IReadOnlyList<Section> expanded,
        string system,
        int systemCost,
        int systemChars,
        List<ChatMessage> pins,
        int[] counted,
        string? note,
        int? noteDepth,
        string? summary,
        List<LoreInsertion> lore,
        List<(PromptTurn Turn, ChatMessage Message, int Cost)> kept,
        string postHistory,
        ChatMessage? prefill,
        PromptTokenizer tokenizer,
        int budget)
    {
        var sections = new int[AssembledPrompt.SectionCount];
        string LoreAt(LorePosition position) => string.Join("\n", lore.Where(l => l.Position == position).Select(l => l.Text));
        var loreBefore = LoreAt(LorePosition.BeforeDefinition);
        var loreAfter = LoreAt(LorePosition.AfterDefinition);
        if (loreBefore.Length > 0 || loreAfter.Length > 0)
        {
            // The definition keeps the size it was fitted to; the lore placed inside it comes on top.
            var extra = (loreBefore.Length > 0 ? loreBefore.Length + SectionSeparator.Length : 0)
                + (loreAfter.Length > 0 ? loreAfter.Length + SectionSeparator.Length : 0);
            (system, _) = Compose(WithLore(expanded, loreBefore, loreAfter), systemChars + extra);
            systemCost = tokenizer.CountMessage(system);
        }

        var messages = new List<ChatMessage>(kept.Count + pins.Count + 6) { new(ChatRole.System, system) };
        var systemTokens = systemCost;
        var personaTokens = definition.UserDescription is null || !system.Contains(UserLabel(definition), StringComparison.Ordinal)
            ? 0
            : Math.Min(systemTokens, tokenizer.Count(UserLine(definition)));
        var insideLore = (loreBefore.Length > 0 ? tokenizer.Count(loreBefore) : 0) + (loreAfter.Length > 0 ? tokenizer.Count(loreAfter) : 0);
        sections[(int)PromptSection.Persona] = personaTokens;
        sections[(int)PromptSection.Lore] += insideLore;
        sections[(int)PromptSection.System] = Math.Max(0, systemTokens - personaTokens - insideLore);

        messages.AddRange(pins);
        sections[(int)PromptSection.Pins] = counted[(int)PromptSection.Pins];

        // The note costs the same wherever it goes (ahead of the turns here, or at its depth below).
        sections[(int)PromptSection.Memory] = note is null ? 0 : counted[(int)PromptSection.Memory];
        if (note is not null && noteDepth is null)
        {
            messages.Add(new ChatMessage(ChatRole.System, note));
        }

        if (summary is not null)
        {
            messages.Add(new ChatMessage(ChatRole.System, summary));
            sections[(int)PromptSection.Summary] = counted[(int)PromptSection.Summary];
        }

        var loreHistory = LoreAt(LorePosition.BeforeHistory);
        if (loreHistory.Length > 0)
        {
            messages.Add(new ChatMessage(ChatRole.System, loreHistory));
            sections[(int)PromptSection.Lore] += tokenizer.CountMessage(loreHistory);
        }

        // The recent turns, with what goes at a depth: d messages above the newest (0: after it).
        var history = kept.Select(k => k.Message).ToList();
        sections[(int)PromptSection.History] = kept.Sum(k => k.Cost);

        var atDepth = new List<(int Depth, int Rank, ChatMessage Message, PromptSection Section)>();
        if (note is not null && noteDepth is { } depth)
        {
            atDepth.Add((depth, int.MinValue, new ChatMessage(ChatRole.System, note), PromptSection.Memory));
        }

        atDepth.AddRange(lore.Where(l => l.Position == LorePosition.AtDepth)
            .Select(l => (l.Depth, l.Order, new ChatMessage(ChatRole.System, l.Text), PromptSection.Lore)));

        // Deepest first, so an insertion never moves the place of one still to come; at one depth, the note
        // then lore by ascending order (each goes in right after the one before it).
        foreach (var insert in atDepth.OrderByDescending(a => Math.Clamp(a.Depth, 0, history.Count)).ThenBy(a => a.Rank))
        {
            history.Insert(history.Count - Math.Clamp(insert.Depth, 0, history.Count), insert.Message);
            if (insert.Section == PromptSection.Lore)
            {
                sections[(int)PromptSection.Lore] += tokenizer.CountMessage(insert.Message.Text);
            }
        }

        messages.AddRange(history);
        if (postHistory.Length > 0)
        {
            messages.Add(new ChatMessage(ChatRole.System, postHistory));
            sections[(int)PromptSection.PostHistory] = tokenizer.CountMessage(postHistory);
        }

        if (prefill is not null)
        {
            messages.Add(prefill);
            sections[(int)PromptSection.History] += tokenizer.CountMessage(prefill.Text);
        }

        var total = sections.Sum() + PromptTokenizer.MessageOverhead;
        return new AssembledPrompt(messages, sections, total, budget, tokenizer.Name,
            kept.Count > 0 ? kept[0].Turn.Seq : 0, [.. lore.Select(l => l.EntryId)]);
    }

    private static ChatMessage TurnMessage(PromptTurn turn, string speakerCharacterId, IReadOnlyDictionary<string, string> characterNames)
    {
        var (role, prefix) = Speaker(turn, speakerCharacterId, characterNames);
        return new ChatMessage(role, prefix.Length == 0 ? turn.Text : prefix + turn.Text);
    }

    /// <summary>The seq of the oldest recent turn <paramref name="ceiling"/> alone would keep (long.MaxValue when none).</summary>
    private static long OldestWithin(List<(PromptTurn Turn, ChatMessage Message, int Cost)> recent, int newestUser, int ceiling)
    {
        var oldest = long.MaxValue;
        var room = ceiling - (newestUser >= 0 ? recent[newestUser].Cost : 0);
        for (var i = 0; i < recent.Count; i++)
        {
            if (i != newestUser)
            {
                if (recent[i].Cost > room)
                {
                    if (i > newestUser)
                    {
                        break;
                    }

                    room = -1;
                    continue;
                }

                room -= recent[i].Cost;
            }

            oldest = Math.Min(oldest, recent[i].Turn.Seq);
        }

        return oldest;
    }

    /// <summary>
    /// <paramref name="text"/> as a message within <paramref name="room"/> tokens: whole, or cut (its end,
    /// or its beginning after the first <paramref name="keepStart"/> characters, when <paramref name="keepEnd"/>);
    /// null when it is empty or nothing of it fits.
    /// </summary>
    private static string? Fit(string? text, int room, PromptTokenizer tokenizer, bool keepEnd, int keepStart = 0)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var cost = tokenizer.CountMessage(text);
        if (cost <= room)
        {
            return text;
        }

        var start = text[..keepStart];
        var body = text[keepStart..];
        var chars = body.Length;
        for (var tries = 0; tries < 8 && chars > 0; tries++)
        {
            chars = (int)Math.Min(chars - 1L, (long)chars * Math.Max(0, room) / Math.Max(1, cost) * 95 / 100);
            var cut = start + (keepEnd ? Tail(body, chars) : Head(body, chars));
            cost = tokenizer.CountMessage(cut);
            if (cost <= room && chars > 0)
            {
                return cut;
            }
        }

        return null;
    }

    /// <summary>The end of <paramref name="text"/> that fits <paramref name="tokens"/> (the whole when it does).</summary>
    /// <summary>
    /// The fewest tokens of a continuation's text so far (its end) the prompt keeps, whatever else is in it.
    /// </summary>
    internal const int MinPrefillTokens = 64;

    private static string FitTail(string text, int tokens, PromptTokenizer tokenizer)
    {
        var count = tokenizer.Count(text);
        var chars = text.Length;
        while (count > tokens && chars > 0)
        {
            chars = (int)Math.Min(chars - 1L, (long)chars * Math.Max(0, tokens) / count * 95 / 100);
            text = Tail(text, chars);
            count = tokenizer.Count(text);
        }

        return text;
    }

    private static string UserLabel(CharacterPrompt d) => $"The user is {d.UserName}.";

    /// <summary>The user's persona as the system message says it.</summary>
    private static string UserLine(CharacterPrompt d)
    {
        var description = Macros.Expand(d.UserDescription ?? "", d.CharacterName, d.UserName);
        return description.Length == 0 ? UserLabel(d) : UserLabel(d) + " " + description;
    }
}
