using ChatService.Inference;
using Microsoft.Extensions.Options;

namespace ChatService.Chats;

/// <summary>
/// Reads what a worker needs to generate a reply: the turns from the chat's window when it holds the
/// reply and the turns before it (the common case), with the characters and the persona from one small
/// storage read, since they may have changed since anything cached them; otherwise everything from the
/// reply ledger in one snapshot.
/// </summary>
public sealed partial class ReplyContextLoader(
    IChatWindows windows,
    IReplyDefinitions definitions,
    IReplyLedger ledger,
    LoreCompiler lore,
    ILogger<ReplyContextLoader> logger,
    IChatMemoryStore memories,
    IOptions<MemoryOptions> memoryOptions)
{
    /// <summary>Turns read beyond a prompt's window, for replies a few turns below the newest (group chats).</summary>
    private const int PromptSlack = 4;

    /// <param name="progress">
    /// Told each stage reached (the reply's stage marks with <c>Dispatch:StageTimings</c>), or null. On the cold
    /// path (the window can't serve the reply and the ledger does) only <see cref="ReplyLoadStage.ContextLoaded"/> is
    /// reported: the window and definitions stages then record nothing, or what the window's try took.
    /// </param>
    public async Task<ReplyContext?> LoadAsync(ReplyKey key, int windowTurns, IReplyLoadProgress? progress, CancellationToken cancellationToken)
    {
        if (windows.MaxTurns > 0 && await FromWindowAsync(key, windowTurns, progress, cancellationToken) is { } warm)
        {
            var loaded = WithLore(WithoutOverlap(warm));
            progress?.Reached(ReplyLoadStage.ContextLoaded);
            return loaded;
        }

        // The cold path reads the memory apart from the ledger's snapshot (one more small read).
        var context = await ledger.LoadReplyContextAsync(key, windowTurns, cancellationToken);
        if (context is null)
        {
            return null;
        }

        var cold = WithLore(WithoutOverlap(context with { Memory = ToPrompt(await memories.ReadAsync(key.ChatId, cancellationToken), key.Seq) }));
        progress?.Reached(ReplyLoadStage.ContextLoaded);
        return cold;
    }

    /// <summary>
    /// The context with no turn both in its window and in its summary. A reply at the end of the chat never
    /// has one (a summary covers only turns that fell out of a prompt), but an older reply regenerated has
    /// the turns before it, which a summary made since may cover: those turns leave the window (the summary
    /// tells them). If that would leave no turn, the summary leaves instead (the reply is then generated
    /// from the turns as they were, as a reply whose summary reaches its own turn is); the chat's stored
    /// summary position stays (<see cref="PromptMemory.StoredSummaryThroughSeq"/>), so the summary trigger
    /// does not take the prompt's lack of a summary for the chat's and queue a job for a span it covers.
    /// </summary>
    internal static ReplyContext WithoutOverlap(ReplyContext context)
    {
        var through = context.Memory.SummaryThroughSeq;
        if (context.Memory.Summary is null || through <= 0 || context.WindowOldestFirst.Count == 0 || context.WindowOldestFirst[0].Seq > through)
        {
            return context;
        }

        var after = context.WindowOldestFirst.Where(t => t.Seq > through).ToList();
        return after.Count > 0
            ? context with { WindowOldestFirst = after }
            : context with { Memory = context.Memory with { Summary = null, SummaryThroughSeq = 0 } };
    }

    /// <summary>
    /// The context with <see cref="PromptMemory.Lore"/>: the entries of its lorebooks that the newest
    /// messages before the reply trigger (and the constant ones), within the books' and the service's
    /// own budgets (the prompt's is the assembler's, Dispatch:LoreBudgetTokens). Keys are compiled once per book version.
    /// </summary>
    private ReplyContext WithLore(ReplyContext context)
    {
        if (context.Lorebooks.Count == 0)
        {
            return context;
        }

        var newestFirst = new List<string>(context.WindowOldestFirst.Count);
        for (var i = context.WindowOldestFirst.Count - 1; i >= 0; i--)
        {
            newestFirst.Add(context.WindowOldestFirst[i].Text);
        }

        var books = context.Lorebooks.OrderBy(b => b.CharacterId is null).ThenBy(b => b.Id, StringComparer.Ordinal).Select(lore.Get).ToList();
        var insertions = LoreMatcher.Select(
            books,
            newestFirst,
            context.Speaker.DisplayName,
            context.Persona?.Name ?? Macros.DefaultUserName,
            (bookId, entryId) =>
            {
                LoreMetrics.RegexTimedOut();
                LogRegexTimeout(bookId, entryId);
            });
        return context with { Memory = context.Memory with { Lore = insertions } };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A regular-expression key of lorebook {LorebookId} entry {EntryId} ran out of time; counted as no match")]
    private partial void LogRegexTimeout(string lorebookId, string entryId);

    /// <summary>
    /// The chat's memory as a reply's prompt takes it: the note at its effective depth, and the summary
    /// only when it ends before the reply (a regenerated old reply never sees a summary of its own future).
    /// </summary>
    public PromptMemory ToPrompt(ChatMemory? memory, long replySeq)
    {
        if (memory is null)
        {
            return PromptMemory.None;
        }

        var summary = memory.Summary is { } s && s.ThroughSeq < replySeq && s.Text.Length > 0 ? s : null;
        var storedThrough = memory.Summary?.ThroughSeq ?? 0;
        if (memory.Note is null && summary is null)
        {
            return PromptMemory.None with { SummaryGeneration = memory.SummaryGeneration, StoredSummaryThroughSeq = storedThrough };
        }

        return new PromptMemory
        {
            SummaryGeneration = memory.SummaryGeneration,
            StoredSummaryThroughSeq = storedThrough,
            Note = memory.Note,
            NoteDepth = memory.EffectiveDepth(memoryOptions.Value.DefaultDepth),
            Summary = summary?.Text,
            SummaryThroughSeq = summary?.ThroughSeq ?? 0,
        };
    }

    /// <summary>The context from the window; null when the window can't tell and the ledger must.</summary>
    private async Task<ReplyContext?> FromWindowAsync(ReplyKey key, int windowTurns, IReplyLoadProgress? progress, CancellationToken cancellationToken)
    {
        // The reply is almost always among the newest few turns; the prompt needs the ones before it. What
        // the definitions will wait on (their change tokens in Redis) goes out alongside the window's read.
        var prefetch = definitions.Prefetch(key.ChatId);
        var window = await windows.GetAsync(key.ChatId, windowTurns + PromptSlack, cancellationToken);
        progress?.Reached(ReplyLoadStage.WindowRead);
        var reply = window?.NewestFirst.FirstOrDefault(t => t.Seq == key.Seq);
        if (window is null || reply is null || reply.Hidden || reply.CandidateId != key.CandidateId || reply.CharacterId is null
            || reply.Continuations != key.Continuation)
        {
            // Not in the window (a deep turn, or a candidate that is not the primary one), or not as this
            // generation of it (a continuation the window has not caught up with).
            return null;
        }

        // Rewound and deleted turns never reach a prompt.
        var before = window.Shown.Where(t => t.Seq < key.Seq).Take(windowTurns).Reverse().ToList();
        if (before.Count < windowTurns && !window.ReachesStart)
        {
            // A deep turn (e.g. regenerating an old reply), or many hidden turns: the window holds too little before it.
            return null;
        }

        // A reply uses the definitions current when it is generated: an update on any replica since a
        // copy was cached here, and the user's persona as it is now.
        var read = await definitions.LoadAsync(window.UserId, key.ChatId, reply.CharacterId, window.CharacterIds, prefetch, cancellationToken);
        progress?.Reached(ReplyLoadStage.DefinitionsRead);
        var (cast, persona) = read;
        if (!cast.TryGetValue(reply.CharacterId, out var speaker))
        {
            return null;
        }

        return new ReplyContext(window.UserId, speaker, cast, before, reply, LeaseOwner: null)
        {
            Pinned = await PinnedAsync(window, key, cancellationToken),
            Persona = persona,
            Lorebooks = read.Lorebooks,

            // Cached with the window (no read), except in a window cached before memory was.
            Memory = ToPrompt(window.Memory ?? await memories.ReadAsync(key.ChatId, cancellationToken), key.Seq),
        };
    }

    /// <summary>
    /// The shown pinned turns before the reply, oldest first. The pins travel in the window's meta
    /// (loaded with the window's one Spanner read, and the window dropped when they change), not with
    /// a chat row read here: a warm chat without pins, or whose pins the window holds, costs no read.
    /// Only pins older than the window are read from Spanner, by number.
    /// </summary>
    private async Task<IReadOnlyList<ChatTurn>> PinnedAsync(ChatWindow window, ReplyKey key, CancellationToken cancellationToken)
    {
        var pins = window.PinnedSeqs.Where(seq => seq < key.Seq).ToList();
        if (pins.Count == 0)
        {
            return [];
        }

        var held = window.NewestFirst.Where(t => t.Seq < key.Seq).ToDictionary(t => t.Seq);
        var deeper = pins.Where(seq => !held.ContainsKey(seq)).ToList();
        var read = deeper.Count == 0 ? [] : (await ledger.GetShownTurnsAsync(key.ChatId, deeper, cancellationToken)).ToDictionary(t => t.Seq);
        return pins
            .Select(seq => held.TryGetValue(seq, out var turn) ? turn : read.GetValueOrDefault(seq))
            .Where(t => t is { Hidden: false })
            .Select(t => t!)
            .ToList();
    }
}
