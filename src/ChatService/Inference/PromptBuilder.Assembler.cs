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
        // The definition's placeholders are replaced once per definition (and its texts counted once per tokenizer);
        // every size tried below only cuts.
        var prepared = Prepare(definition);
        var counts = prepared.CountsBy(tokenizer);
        var postHistoryText = prepared.PostHistoryText;
        var expanded = prepared.Expanded;
        var leastSystem = counts.LeastSystem;
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
        var prefillCost = 0;
        if (!string.IsNullOrWhiteSpace(prefill))
        {
            // At least its last MinPrefillTokens, even past a budget the newest user turn filled: a
            // continuation without the text it goes on from would be a fresh reply appended to the old.
            var room = Math.Max(left - leastSystem - PromptTokenizer.MessageOverhead, MinPrefillTokens);
            var fitted = tokenizer.Count(prefill) <= room ? prefill : FitTail(prefill, room, tokenizer);
            if (!string.IsNullOrWhiteSpace(fitted))
            {
                prefillMessage = new ChatMessage(ChatRole.Assistant, fitted);
                prefillCost = tokenizer.CountMessage(fitted);
                left = Math.Max(0, left - prefillCost);
            }
        }

        // 2. The system prompt, the definition and the persona.
        var definitionRoom = Room(budgets.DefinitionTokens) - PromptTokenizer.MessageOverhead;
        var system = prepared.FullSystem;
        var systemTokens = counts.FullSystem;
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

        // The user's persona as the system message says it (cut or not), counted once here for the log.
        var personaTokens = Math.Min(systemTokens, systemCut ? tokenizer.Count(PersonaIn(expanded, Math.Max(0, systemChars))) : counts.FullPersona);

        // 3. The pins older than the recent turns the history's own ceiling would keep. A pinned turn among
        // those counts as a recent turn, but its room is taken now, at the pins' priority: when the history is
        // then cut short by the whole budget (not by its own ceiling), the pinned turn still goes in, as a pin.
        var withinCeiling = WithinCeiling(recent, newestUser, budgets.HistoryTokens);
        var oldestRecentBound = withinCeiling.Count == 0 ? long.MaxValue : withinCeiling.Min(i => recent[i].Turn.Seq);
        var heldPins = new HashSet<long>();
        var heldCost = 0;
        var heldPinLeftOut = false;
        for (var i = pinnedOldestFirst.Count - 1; i >= 0; i--)
        {
            var at = recent.FindIndex(r => r.Turn.Seq == pinnedOldestFirst[i].Seq);
            if (at < 0 || at == newestUser || !withinCeiling.Contains(at) || heldPins.Contains(recent[at].Turn.Seq))
            {
                continue;
            }

            if (recent[at].Cost > Room(int.MaxValue) - heldCost)
            {
                // Left out for lack of room in the whole budget, not for its ceiling: everything of lower
                // priority (the older pins aside, which may still fit) gives way, so the memory, summary and
                // lore are never sent while a held pin is missing.
                heldPinLeftOut = true;
                continue;
            }

            heldPins.Add(recent[at].Turn.Seq);
            heldCost += recent[at].Cost;
        }

        // The held pins' room is taken first, so the other pins (and whether they gave way to the whole
        // budget) are measured against what the held ones left.
        left -= heldCost;
        var pins = new List<ChatMessage>();
        var pinLeftOut = false;
        var pinsRoom = Room(budgets.PinnedTokens);
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

        exhausted |= heldPinLeftOut;
        left -= sections[(int)PromptSection.Pins];

        // 4. The memory note; 5. the summary.
        var (note, noteCost) = Fit(memory.Note, Room(budgets.MemoryTokens), tokenizer, keepEnd: false);
        if (!string.IsNullOrWhiteSpace(memory.Note) && !ReferenceEquals(note, memory.Note))
        {
            GaveWay(budgets.MemoryTokens);
        }

        sections[(int)PromptSection.Memory] = noteCost;
        left -= noteCost;
        var wholeSummary = memory.Summary is { Length: > 0 } s ? SummaryLabel + s : null;
        var (summary, summaryCost) = Fit(wholeSummary, Room(budgets.SummaryTokens), tokenizer, keepEnd: true, keepStart: SummaryLabel.Length);
        if (!string.IsNullOrWhiteSpace(wholeSummary) && !ReferenceEquals(summary, wholeSummary))
        {
            GaveWay(budgets.SummaryTokens);
        }

        sections[(int)PromptSection.Summary] = summaryCost;
        left -= summaryCost;

        // 6. The lore: over its room, the lowest orders go first (LoreBudget, as a book's own budget does).
        var loreCosts = new Dictionary<LoreInsertion, int>(ReferenceEqualityComparer.Instance);
        foreach (var entry in memory.Lore)
        {
            if (!string.IsNullOrWhiteSpace(entry.Text))
            {
                loreCosts[entry] = tokenizer.CountMessage(entry.Text);
            }
        }

        var loreRoom = Room(budgets.LoreTokens);
        var lore = LoreBudget.Apply([.. LoreBudget.InOrder(loreCosts.Keys)], loreRoom, l => loreCosts[l]);
        var loreCost = lore.Sum(l => loreCosts[l]);
        if (lore.Count < loreCosts.Count)
        {
            GaveWay(budgets.LoreTokens);
        }

        left -= loreCost;

        // The summary trigger's bound: the turns the history could hold without this prompt's one-offs (its
        // newest user turn and its triggered lore), so a summary never covers turns a later prompt shows again.
        // Constant lore is no one-off (every later prompt spends its room too), so it is not given back.
        // The held pins were taken off `left` at step 3, and OldestWithin counts them among the turns: added back.
        var newestCost = newestUser >= 0 ? recent[newestUser].Cost : 0;
        var triggeredLoreCost = lore.Where(l => !l.Constant).Sum(l => loreCosts[l]);
        var ceilingSeq = OldestWithin(recent, newestUser, Math.Min(budgets.HistoryTokens, left + heldCost + triggeredLoreCost + newestCost) + newestCost);

        // 7. The other recent turns, newest first, contiguous; the newest user turn and the pinned turns held
        // at step 3 are in already (their room was taken then).
        var historyCeiling = budgets.HistoryTokens - heldCost - (newestUser >= 0 ? recent[newestUser].Cost : 0);
        var historyRoom = Room(historyCeiling);
        // Whether the history gave way to the whole budget is judged by the room it had before any of it was
        // taken: a history its own ceiling cut leaves room for the post-history instructions.
        var historyCutByBudget = left < historyCeiling;
        var kept = new List<(PromptTurn Turn, ChatMessage Message, int Cost)>();
        var full = false;
        for (var i = 0; i < recent.Count; i++)
        {
            if (i == newestUser || heldPins.Contains(recent[i].Turn.Seq))
            {
                kept.Add(recent[i]);
                continue;
            }

            if (!full && recent[i].Cost > historyRoom)
            {
                exhausted |= historyCutByBudget;
                full = true;
            }

            if (full)
            {
                // Older turns are never kept once a newer one did not fit: the window stays contiguous, but
                // for the newest user turn (kept even when a turn after it was not) and the held pinned turns.
                continue;
            }

            kept.Add(recent[i]);
            historyRoom -= recent[i].Cost;
            left -= recent[i].Cost;
        }

        // A held pinned turn older than every other kept turn is no longer among the recent ones: it goes with
        // the pins (it is newer than they are, so after them), and the recent turns start after it.
        var anchor = kept.Where(k => !heldPins.Contains(k.Turn.Seq)).Select(k => k.Turn.Seq).DefaultIfEmpty(long.MaxValue).Min();
        foreach (var moved in kept.Where(k => heldPins.Contains(k.Turn.Seq) && k.Turn.Seq < anchor).OrderBy(k => k.Turn.Seq).ToList())
        {
            pins.Add(moved.Message);
            sections[(int)PromptSection.Pins] += moved.Cost;
            kept.Remove(moved);
        }

        kept.Reverse();

        // 8. The post-history instructions, whole or not at all.
        var postHistoryCost = counts.PostHistory;
        var postHistory = postHistoryCost > 0 && postHistoryCost <= Room(int.MaxValue) ? postHistoryText : "";

        var counted = new PromptCounts(systemTokens + PromptTokenizer.MessageOverhead, personaTokens, postHistory.Length > 0 ? postHistoryCost : 0, prefillCost);
        return Lay(expanded, system, systemChars, counted, pins, sections, note, memory.NoteDepth, summary,
            lore, loreCosts, kept, postHistory, prefillMessage, tokenizer, budgets.PromptTokens) with { HistoryCeilingSeq = ceilingSeq == long.MaxValue ? 0 : ceilingSeq };
    }

    /// <summary>What the choice already counted, so that laying the prompt out counts none of it again.</summary>
    /// <param name="System">The first system message without lore inside it, framing included.</param>
    /// <param name="Persona">The user's persona inside it, as it was fitted.</param>
    /// <param name="PostHistory">The post-history instructions' message; 0 when left out.</param>
    /// <param name="Prefill">A continuation's prefill message; 0 without one.</param>
    private readonly record struct PromptCounts(int System, int Persona, int PostHistory, int Prefill);

    /// <summary>
    /// Puts the chosen parts in their order and counts each section of the result, taking the counts the
    /// choice already made (<paramref name="counted"/>, <paramref name="sections"/> for the pins, the note and
    /// the summary, each lore entry's and each kept turn's cost) rather than counting the same texts again.
    /// Only what the choice never had as one text is counted here: the system message with lore inside it,
    /// and the lore placed before the history as one message.
    /// </summary>
    private static AssembledPrompt Lay(
        IReadOnlyList<Section> expanded,
        string system,
        int systemChars,
        PromptCounts counted,
        List<ChatMessage> pins,
        int[] sections,
        string? note,
        int? noteDepth,
        string? summary,
        IReadOnlyList<LoreInsertion> lore,
        Dictionary<LoreInsertion, int> loreCosts,
        List<(PromptTurn Turn, ChatMessage Message, int Cost)> kept,
        string postHistory,
        ChatMessage? prefill,
        PromptTokenizer tokenizer,
        int budget)
    {
        // Lore by position, each in ascending order (the order it was kept in).
        string LoreAt(LorePosition position) => string.Join("\n", lore.Where(l => l.Position == position).Select(l => l.Text));
        int TextCost(LorePosition position) => lore.Where(l => l.Position == position).Sum(l => loreCosts[l] - PromptTokenizer.MessageOverhead);
        var loreBefore = LoreAt(LorePosition.BeforeDefinition);
        var loreAfter = LoreAt(LorePosition.AfterDefinition);
        var systemCost = counted.System;
        var insideLore = 0;
        if (loreBefore.Length > 0 || loreAfter.Length > 0)
        {
            // The definition keeps the size it was fitted to; the lore placed inside it comes on top. The whole
            // message is counted once (tokens across the joins are not the sum of the parts); the lore's share
            // of it is the entries' own counts.
            var extra = (loreBefore.Length > 0 ? loreBefore.Length + SectionSeparator.Length : 0)
                + (loreAfter.Length > 0 ? loreAfter.Length + SectionSeparator.Length : 0);
            (system, _) = Compose(WithLore(expanded, loreBefore, loreAfter), systemChars + extra);
            systemCost = tokenizer.CountMessage(system);
            insideLore = Math.Min(systemCost - counted.Persona, TextCost(LorePosition.BeforeDefinition) + TextCost(LorePosition.AfterDefinition));
        }

        var messages = new List<ChatMessage>(kept.Count + pins.Count + 6) { new(ChatRole.System, system) };
        sections[(int)PromptSection.Persona] = counted.Persona;
        sections[(int)PromptSection.Lore] = insideLore;
        sections[(int)PromptSection.System] = Math.Max(0, systemCost - counted.Persona - insideLore);

        messages.AddRange(pins);

        // The note costs the same wherever it goes (ahead of the turns here, or at its depth below).
        if (note is not null && noteDepth is null)
        {
            messages.Add(new ChatMessage(ChatRole.System, note));
        }

        if (summary is not null)
        {
            messages.Add(new ChatMessage(ChatRole.System, summary));
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

        var atDepth = new List<(int Depth, int Rank, ChatMessage Message)>();
        if (note is not null && noteDepth is { } depth)
        {
            atDepth.Add((depth, int.MinValue, new ChatMessage(ChatRole.System, note)));
        }

        foreach (var entry in lore.Where(l => l.Position == LorePosition.AtDepth))
        {
            atDepth.Add((entry.Depth, entry.Order, new ChatMessage(ChatRole.System, entry.Text)));
            sections[(int)PromptSection.Lore] += loreCosts[entry];
        }

        // Deepest first, so an insertion never moves the place of one still to come; at one depth, the note
        // then lore by ascending order (each goes in right after the one before it).
        foreach (var insert in atDepth.OrderByDescending(a => Math.Clamp(a.Depth, 0, history.Count)).ThenBy(a => a.Rank))
        {
            history.Insert(history.Count - Math.Clamp(insert.Depth, 0, history.Count), insert.Message);
        }

        messages.AddRange(history);
        if (postHistory.Length > 0)
        {
            messages.Add(new ChatMessage(ChatRole.System, postHistory));
            sections[(int)PromptSection.PostHistory] = counted.PostHistory;
        }

        if (prefill is not null)
        {
            messages.Add(prefill);
            sections[(int)PromptSection.History] += counted.Prefill;
        }

        var total = sections.Sum() + PromptTokenizer.MessageOverhead;
        return new AssembledPrompt(messages, sections, total, budget, tokenizer.Name,
            kept.Count > 0 ? kept[0].Turn.Seq : 0, [.. lore.Select(l => l.EntryId)]);
    }

    /// <summary>The seq of the oldest recent turn <paramref name="ceiling"/> alone would keep (long.MaxValue when none).</summary>
    private static long OldestWithin(List<(PromptTurn Turn, ChatMessage Message, int Cost)> recent, int newestUser, int ceiling)
    {
        var within = WithinCeiling(recent, newestUser, ceiling);
        return within.Count == 0 ? long.MaxValue : within.Min(i => recent[i].Turn.Seq);
    }

    private static ChatMessage TurnMessage(PromptTurn turn, string speakerCharacterId, IReadOnlyDictionary<string, string> characterNames)
    {
        var (role, prefix) = Speaker(turn, speakerCharacterId, characterNames);
        return new ChatMessage(role, prefix.Length == 0 ? turn.Text : prefix + turn.Text);
    }

    /// <summary>The indexes of the recent turns (newest first) <paramref name="ceiling"/> alone would keep, the newest user turn among them.</summary>
    private static HashSet<int> WithinCeiling(List<(PromptTurn Turn, ChatMessage Message, int Cost)> recent, int newestUser, int ceiling)
    {
        var within = new HashSet<int>();
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

            within.Add(i);
        }

        return within;
    }

    /// <summary>
    /// <paramref name="text"/> as a message within <paramref name="room"/> tokens: whole, or cut (its end,
    /// or its beginning after the first <paramref name="keepStart"/> characters, when <paramref name="keepEnd"/>);
    /// null when it is empty or nothing of it fits; with what the message costs (0 for null).
    /// </summary>
    private static (string? Text, int Cost) Fit(string? text, int room, PromptTokenizer tokenizer, bool keepEnd, int keepStart = 0)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, 0);
        }

        var cost = tokenizer.CountMessage(text);
        if (cost <= room)
        {
            return (text, cost);
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
                return (cut, cost);
            }
        }

        return (null, 0);
    }

    /// <summary>
    /// The fewest tokens of a continuation's text so far (its end) the prompt keeps, whatever else is in it.
    /// </summary>
    internal const int MinPrefillTokens = 64;

    /// <summary>The end of <paramref name="text"/> that fits <paramref name="tokens"/> (the whole when it does).</summary>
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

    /// <summary>The user's persona as the first system message says it when cut to <paramref name="maxChars"/> (empty when it says nothing of the user).</summary>
    private static string PersonaIn(IReadOnlyList<Section> expanded, int maxChars)
    {
        var user = Fitted(expanded, maxChars).Single(s => s.Part == Part.User);
        return user.Shown ? user.ToString() : "";
    }
}
