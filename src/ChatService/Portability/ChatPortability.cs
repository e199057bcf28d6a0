using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using ChatService.Chats;
using ChatService.Storage;
using Microsoft.Extensions.Options;

namespace ChatService.Portability;

/// <summary>
/// Chat export and import: a chat streamed as a file a page of turns at a time, and a file checked
/// whole and then written as a new chat in batches that resume where an interrupted import stopped.
/// </summary>
internal sealed partial class ChatPortability(
    ChatArchiveStore store,
    CharacterCatalog characters,
    ImportGate gate,
    IOptions<ImportOptions> importOptions,
    IOptions<ChatOptions> chatOptions,
    IOptions<MemoryOptions> memoryOptions,
    TimeProvider timeProvider,
    ILogger<ChatPortability> logger)
{
    /// <summary>Turns read from Spanner per page of an export.</summary>
    internal const int ExportPageTurns = 200;

    /// <summary>
    /// Most bytes an export chunk carries: a file is cut every this many bytes, wherever that falls (a line, even
    /// a UTF-8 character, may span chunks), so a part is the concatenation of its chunks' bytes.
    /// </summary>
    internal const int ChunkBytes = 64 * 1024;

    /// <summary>The full <see cref="ChunkBytes"/>-byte chunks at the start of <paramref name="buffer"/>, which keeps the rest.</summary>
    internal static IEnumerable<byte[]> FullChunks(MemoryStream buffer)
    {
        if (buffer.Length < ChunkBytes)
        {
            return [];
        }

        var bytes = buffer.ToArray();
        var chunks = new List<byte[]>();
        var at = 0;
        for (; bytes.Length - at >= ChunkBytes; at += ChunkBytes)
        {
            chunks.Add(bytes[at..(at + ChunkBytes)]);
        }

        buffer.SetLength(0);
        buffer.Write(bytes, at, bytes.Length - at);
        return chunks;
    }

    private ImportOptions Options => importOptions.Value;

    /// <summary>A chat of the user's as <paramref name="format"/> lines, in chunks of whole lines; NOT_FOUND for a chat that is not theirs.</summary>
    public async IAsyncEnumerable<byte[]> ExportAsync(string userId, string chatId, ChatFileFormat format, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (chat, readAt) = await store.ReadChatAsync(userId, chatId, cancellationToken) ?? throw ChatException.ChatNotFound(chatId);
        var chunk = new MemoryStream();
        chunk.Write(format == ChatFileFormat.Lossless ? LosslessFormat.Header(chat) : SillyTavernFormat.Header(chat));
        var after = 0L;
        while (true)
        {
            var turns = await store.ReadTurnsAsync(userId, chatId, after, ExportPageTurns, readAt, cancellationToken);
            foreach (var turn in turns)
            {
                chunk.Write(format == ChatFileFormat.Lossless ? LosslessFormat.Turn(chat, turn) : SillyTavernFormat.Message(chat, turn));
                foreach (var full in FullChunks(chunk))
                {
                    yield return full;
                }
            }

            if (turns.Count < ExportPageTurns)
            {
                break;
            }

            after = turns[^1].Seq;
        }

        if (chunk.Length > 0)
        {
            yield return chunk.ToArray();
        }
    }

    /// <summary>
    /// A new chat of the user from <paramref name="request"/>'s file: admitted by the <see cref="ImportGate"/>
    /// (RESOURCE_EXHAUSTED when too many imports run; a retry waits for its own earlier attempt still running), checked whole first (nothing is written for a file
    /// that is refused), then written in batches. A retry of a finished import is answered from its record: no
    /// slot, no parsing (only the file's digest, which ties the request id to it). <paramref name="stopAfterBatches"/>
    /// stops it after that many batch commits, as an interruption would (tests only).
    /// </summary>
    public async Task<ImportResult> ImportAsync(ChatImportRequest request, CancellationToken cancellationToken, int? stopAfterBatches = null)
    {
        var found = await store.FindImportAsync(request.UserId, request.RequestId, cancellationToken);
        if (found is { Done: true, Counts: { } counts })
        {
            // The slot bounds the memory and CPU of parsing; a finished import has nothing left to parse or write.
            // Its record still has to be of this file (FAILED_PRECONDITION otherwise).
            var finished = found.Matching(Digest(request), request.RequestId);
            return Result(finished.ChatId, counts, done: true);
        }

        // A retry of an import already started here or elsewhere (its record exists) is not a new import of the
        // user's: it never counts against Import:MaxConcurrentPerUser. One still running here is waited for.
        using var slot = await gate.EnterAsync(request.UserId, request.RequestId, resuming: found is not null, cancellationToken);
        var (plan, recorded) = await PrepareAsync(request, cancellationToken);
        var planned = plan.Counts;
        if (recorded is { Done: true })
        {
            // Finished meanwhile (the earlier attempt waited for), or recorded before its counts were (schema version 24).
            return Result(recorded.ChatId, recorded.Counts ?? planned, done: true);
        }

        var progress = recorded ?? await store.StartImportAsync(plan, cancellationToken);
        if (progress.SpeakerIds is { } resolved && recorded is null)
        {
            // Another attempt may have started the import first: write its speakers, not this one's.
            plan = plan with { Turns = WithSpeakers(plan.Turns, resolved) };
        }

        var batches = 0;
        while (!progress.Done)
        {
            if (batches == stopAfterBatches)
            {
                return Result(progress.ChatId, planned with { Candidates = 0 }, done: false);
            }

            var count = NextBatch(plan.Turns, (int)progress.TurnsWritten);
            progress = await store.WriteImportBatchAsync(plan, progress, count, cancellationToken);
            batches++;
            Log.ImportBatch(logger, progress.ChatId, progress.TurnsWritten, plan.Turns.Count);
        }

        if (batches > 0)
        {
            Log.Imported(logger, progress.ChatId, request.Format, planned.Turns, planned.Candidates);
        }

        return Result(progress.ChatId, planned, done: true);
    }

    /// <summary>What an import reports: its chat and its counts (recorded, or of the file parsed).</summary>
    private static ImportResult Result(string chatId, ImportCounts counts, bool done) =>
        new(chatId, counts.Turns, counts.Candidates, counts.SkippedSystemMessages, done);

    /// <summary>
    /// The file checked and resolved into what the import writes, with the import's record when there is one.
    /// The parsed file is this method's only: once the plan is made from it, only the plan (sharing its texts)
    /// is held while the batches are written, not both.
    /// </summary>
    private async Task<(ChatImportPlan Plan, ImportProgress? Recorded)> PrepareAsync(ChatImportRequest request, CancellationToken cancellationToken)
    {
        var parsed = request.Format == ChatFileFormat.Lossless
            ? LosslessReader.Read(request.Data, Options, chatOptions.Value.MaxCharactersPerChat, chatOptions.Value.MaxPinnedTurns, memoryOptions.Value.MaxNoteChars, chatOptions.Value.MaxMessageBytes)
            : SillyTavernReader.Read(request.Data, Options, memoryOptions.Value.MaxNoteChars, chatOptions.Value.MaxMessageBytes);
        // The import's record first: a finished one returns its chat at once, and a resumed one writes the rest
        // of its turns with the speakers its first commit resolved, whatever became of the cast since; only a
        // new one checks the characters (in the commit that starts it, as ForkChat does) and matches names.
        var digest = Digest(request);
        var recorded = (await store.FindImportAsync(request.UserId, request.RequestId, cancellationToken))?.Matching(digest, request.RequestId);
        if (recorded is { Done: true })
        {
            var finished = new ChatImportPlan(request.UserId, request.RequestId, digest, "", [], SpeakerSettings.Default, [], null, null, parsed.Turns)
            {
                SkippedSystemMessages = parsed.SkippedSystemMessages,
            };
            return (finished, recorded);
        }

        return (await PlanAsync(request, parsed, digest, recorded?.SpeakerIds, cancellationToken), recorded);
    }

    /// <summary>The ids of the user's chats, most recently active first.</summary>
    public Task<IReadOnlyList<string>> OwnChatIdsAsync(string userId, CancellationToken cancellationToken) => store.ListChatIdsAsync(userId, cancellationToken);

    /// <summary>Tests only: called by ExportMyData before it reads each character (its position in the list).</summary>
    internal Func<string, int, CancellationToken, Task>? OnExportCharacter { get; set; }

    /// <summary>The ids of the characters the user made (deleted ones too), newest first.</summary>
    public Task<IReadOnlyList<string>> OwnCharacterIdsAsync(string userId, CancellationToken cancellationToken) => store.ListCharacterIdsAsync(userId, cancellationToken);

    /// <summary>How many turns from <paramref name="from"/> the next commit writes: within Import:BatchTurns and Import:BatchMutations, at least one.</summary>
    internal int NextBatch(IReadOnlyList<ArchivedTurn> turns, int from)
    {
        var budget = Options.BatchMutations - ImportBudget.Batch;
        var count = 0;
        for (var i = from; i < turns.Count && count < Options.BatchTurns; i++)
        {
            var turn = turns[i];
            var cost = ImportBudget.Of(turn);
            if (count > 0 && cost > budget)
            {
                break;
            }

            budget -= cost;
            count++;
        }

        return count;
    }

    /// <summary>The turns with the characters an import's first commit recorded (one per turn, '' for a user turn).</summary>
    private static List<ArchivedTurn> WithSpeakers(IReadOnlyList<ArchivedTurn> turns, IReadOnlyList<string> speakerIds) =>
        [.. turns.Select((t, i) => t with { CharacterId = t.Role == AuthorRole.Character && i < speakerIds.Count && speakerIds[i].Length > 0 ? speakerIds[i] : t.CharacterId })];

    /// <summary>
    /// The checked file resolved against the new chat's cast (NOT_FOUND for a character the user can't start a
    /// chat with); with <paramref name="speakerIds"/> (a resumed import's record) the turns take those characters
    /// and the cast is not looked at.
    /// </summary>
    private async Task<ChatImportPlan> PlanAsync(ChatImportRequest request, ParsedChat parsed, byte[] digest, IReadOnlyList<string>? speakerIds, CancellationToken cancellationToken)
    {
        var file = parsed.Chat;
        var castIds = request.CharacterIds.Count > 0
            ? request.CharacterIds
            : request.Format == ChatFileFormat.Lossless && file.Characters.Count > 0
                ? file.Characters.Select(c => c.CharacterId).Distinct().ToList()
                : throw new ChatException(ChatErrorKind.InvalidArgument, "character_ids: name the characters of the new chat (a SillyTavern file has no character ids)", "character_ids");
        var cast = speakerIds is null ? await characters.GetAllAsync(request.UserId, castIds, cancellationToken) : [];
        foreach (var (name, id) in request.CharacterNames)
        {
            if (!castIds.Contains(id))
            {
                throw new ChatException(ChatErrorKind.InvalidArgument, $"character_names[{name}]: character {id} is not one of character_ids", $"character_names[{name}]");
            }
        }

        string Resolve(string? fileId, string? name, int line, string field)
        {
            if (fileId is { Length: > 0 } && castIds.Contains(fileId))
            {
                return fileId;
            }

            name ??= file.NameOf(fileId);
            if (request.CharacterNames.TryGetValue(name, out var mapped))
            {
                return mapped;
            }

            var byName = cast.Where(c => string.Equals(c.DisplayName, name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (byName.Count == 1)
            {
                return byName[0].Id;
            }

            return cast.Count == 1
                ? cast[0].Id
                : throw ImportLine.Refuse(line, field, $"\"{name}\" is none of the chat's characters by name; map it to one with character_names");
        }

        // Spanner refuses a commit-timestamp column value in the future: a file's later times become a
        // second before now, room for clock skew between this replica and Spanner and for a turn's
        // candidates to be spread a tick apart after it.
        var ceiling = timeProvider.GetUtcNow().AddSeconds(-1);
        var seqs = parsed.Turns.Select(t => t.Seq).ToHashSet();
        var turns = new List<ArchivedTurn>(parsed.Turns.Count);
        for (var index = 0; index < parsed.Turns.Count; index++)
        {
            var turn = parsed.Turns[index];
            var field = request.Format == ChatFileFormat.Lossless ? "character_name" : "name";
            var candidates = new List<ArchivedCandidate>(turn.Candidates.Count);
            var previous = DateTimeOffset.MinValue;
            foreach (var candidate in turn.Candidates)
            {
                // Oldest first is the order candidates are listed in: distinct, increasing times keep it.
                var at = Clamp(candidate.CreateTime, ceiling);
                at = at > previous ? at : previous.AddTicks(10);
                previous = at;
                var stopped = candidate.State is ReplyState.Pending or ReplyState.Streaming;
                candidates.Add(candidate with
                {
                    State = stopped ? ReplyState.Cancelled : candidate.State,
                    FailureCode = candidate.State == ReplyState.Failed ? FailureCodeColumn.ToColumn(FailureCodeColumn.FromColumn(candidate.FailureCode ?? "")) : null,
                    FailureReason = stopped ? "the chat was exported before this reply finished" : candidate.FailureReason,
                    CreateTime = at,
                    Rating = candidate.Rating is { } rating ? rating with { UpdateTime = Clamp(rating.UpdateTime, ceiling) } : null,
                });
            }

            turns.Add(turn with
            {
                CharacterId = turn.Role != AuthorRole.Character ? null
                    : speakerIds is not null && index < speakerIds.Count && speakerIds[index].Length > 0 ? speakerIds[index]
                    : Resolve(turn.CharacterId, turn.SpeakerName, turn.Line, field),
                CreateTime = Clamp(turn.CreateTime, ceiling),
                ReplyToSeq = turn.ReplyToSeq is { } replyTo && seqs.Contains(replyTo) ? replyTo : null,
                Candidates = candidates,
                Revisions = [.. turn.Revisions.Select(r => r with { EditTime = Clamp(r.EditTime, ceiling) })],
            });
        }

        var muted = file.Speakers.Muted
            .Select(id => castIds.Contains(id) ? id : request.CharacterNames.GetValueOrDefault(file.NameOf(id)))
            .OfType<string>().Distinct().ToList();
        var speakers = new SpeakerSettings(file.Speakers.Strategy, muted.Count >= castIds.Count ? [] : [.. castIds.Where(muted.Contains)]);
        // A file's title (or name) that shows nothing is no title, as a caller's would be refused: the next default then.
        var title = request.Title is { Length: > 0 } given ? given
            : !ChatTitles.ShowsNothing(file.Title) ? file.Title
            : file.Characters.Count > 0 && !ChatTitles.ShowsNothing(file.Characters[0].Name) ? $"{file.Characters[0].Name.Trim()} (imported)" : "Imported chat";
        return new ChatImportPlan(
            request.UserId,
            request.RequestId,
            digest,
            ChatTitles.Clean(title),
            castIds,
            speakers,
            file.PinnedSeqs,
            file.MemoryNote,
            file.MemoryNote is null ? null : file.MemoryDepth,
            turns)
        {
            SkippedSystemMessages = parsed.SkippedSystemMessages,
        };
    }

    private static DateTimeOffset Clamp(DateTimeOffset time, DateTimeOffset ceiling) =>
        time > ceiling ? ceiling : time < DateTimeOffset.UnixEpoch ? DateTimeOffset.UnixEpoch : time;

    /// <summary>What ties a request id to one import: the format, the file, the cast, the name mapping and the title.</summary>
    private static byte[] Digest(ChatImportRequest request)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([(byte)request.Format]);
        hash.AppendData(request.Data.Span);
        var rest = new StringBuilder();
        rest.Append('\n').AppendJoin('\u001f', request.CharacterIds);
        foreach (var (name, id) in request.CharacterNames.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            rest.Append('\u001e').Append(name).Append('\u001f').Append(id);
        }

        rest.Append('\u001e').Append(request.Title);
        hash.AppendData(Encoding.UTF8.GetBytes(rest.ToString()));
        return hash.GetHashAndReset();
    }

    private static partial class Log
    {
        [LoggerMessage(8101, LogLevel.Debug, "Import into chat {ChatId}: {Written} of {Total} turns written.")]
        public static partial void ImportBatch(ILogger logger, string chatId, long written, int total);

        [LoggerMessage(8102, LogLevel.Information, "Imported chat {ChatId} ({Format}): {Turns} turns, {Candidates} candidates.")]
        public static partial void Imported(ILogger logger, string chatId, ChatFileFormat format, int turns, int candidates);
    }
}

/// <summary>An ImportChat request, checked field by field (the file itself is checked by the import).</summary>
internal sealed record ChatImportRequest(
    string UserId,
    string RequestId,
    ChatFileFormat Format,
    ReadOnlyMemory<byte> Data,
    IReadOnlyList<string> CharacterIds,
    IReadOnlyDictionary<string, string> CharacterNames,
    string? Title);

/// <summary>What an import made: its chat, how many turns and candidates it has, the system messages left out, and whether it is finished.</summary>
internal sealed record ImportResult(string ChatId, int TurnCount, int CandidateCount, int SkippedSystemMessages, bool Done);
