using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ChatService.Bench.Reporting;
using ChatService.Chats;
using ChatService.Dispatch;
using ChatService.Inference;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// <c>prompt</c>: the CPU work a warm reply does between "accepted" and the model call, in this process and
/// without the stack: the reply's context from its window (<see cref="ReplyContextLoader"/>: the turns before
/// it, the pins, the memory, the lorebooks' triggered entries) and its prompt (<see cref="ReplyPrompt"/>:
/// token counts, sections, budgets). Each exchange moves the chat on by a user turn and a reply, and every
/// turn's text is a fresh string, as a window decoded from Redis has them. Measured per exchange on one
/// thread: its CPU time (<c>CLOCK_THREAD_CPUTIME_ID</c>) and the bytes it allocated, so the figures do not
/// depend on what else runs on the machine. The Redis round trips (the window, the definition tokens) are
/// not in it: the <c>send</c> scenario has them.
/// </summary>
internal static class PromptScenario
{
    private const int WarmupExchanges = 2_000;
    private const int Exchanges = 20_000;
    private const string ChatId = "c-prompt";
    private const string UserId = "u-prompt";

    public static Task RunAsync(BenchOptions options, BenchReport report, CancellationToken cancellationToken)
    {
        _ = options;
        var dispatch = new DispatchOptions();
        var inference = new InferenceOptions();
        var budget = new RoutePromptBudget(PromptTokenizer.For(new BackendOptions().Tokenizer), inference.ContextTokens, inference.ReplyReserveTokens);
        foreach (var shape in new[] { Shape.BenchChat(), Shape.FullCard() })
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (cpu, bytes, contextCpu, contextBytes, promptTokens) = Measure(shape, dispatch, budget);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[prompt] {shape.Name}: {cpu:0.0} µs CPU, {bytes:0} bytes allocated per exchange"));
            report.Figure($"{shape.Name}: per exchange, context and prompt", string.Create(CultureInfo.InvariantCulture,
                $"{cpu:0.0} µs CPU, {bytes:0} bytes allocated; of which the context {contextCpu:0.0} µs, {contextBytes:0} bytes " +
                $"(median of 5 blocks of {Exchanges / 5} exchanges after {WarmupExchanges} unmeasured; prompt {promptTokens} tokens)"));
        }

        report.Notes.Add("In process, without the stack: ReplyContextLoader.LoadAsync on a window already read (no Redis, no Spanner) and ReplyPrompt.Build, " +
            "as OwnedReply.GenerateAsync calls them before the model call. Each exchange adds a user turn (100-300 characters) and a reply (120-240) to the chat, " +
            "and every turn's text is a new string (as decoded from Redis). CPU: the thread's own CPU time (CLOCK_THREAD_CPUTIME_ID); bytes: GC.GetAllocatedBytesForCurrentThread.");
        report.Notes.Add($"Tokenizer {budget.Tokenizer.Name}, context {budget.ContextTokens} tokens, reply reserve {budget.ReplyReserveTokens}; Dispatch defaults (PromptWindowTurns {dispatch.PromptWindowTurns}).");
        return Task.CompletedTask;
    }

    private static (double CpuMicros, double Bytes, double ContextCpuMicros, double ContextBytes, int PromptTokens) Measure(Shape shape, DispatchOptions dispatch, RoutePromptBudget budget)
    {
        var windows = new PreparedWindows();
        var definitions = new PreparedDefinitions(shape.Definitions);
        var loader = new ReplyContextLoader(windows, definitions, ledger: null!, new LoreCompiler(), NullLogger<ReplyContextLoader>.Instance,
            memories: null!, Options.Create(new MemoryOptions()));
        var chat = new ChatLog(shape);
        var promptTokens = 0;

        double[] RunBlock(int count)
        {
            long cpu = 0, bytes = 0, contextCpu = 0, contextBytes = 0;
            for (var i = 0; i < count; i++)
            {
                var (window, key) = chat.Next(dispatch.PromptWindowTurns + 4);
                windows.Window = window;
                var t0 = ThreadCpuNanos();
                var a0 = GC.GetAllocatedBytesForCurrentThread();
                var context = loader.LoadAsync(key, dispatch.PromptWindowTurns, progress: null, CancellationToken.None).GetAwaiter().GetResult()
                    ?? throw new InvalidOperationException("the prepared window did not give a context");
                contextBytes += GC.GetAllocatedBytesForCurrentThread() - a0;
                contextCpu += ThreadCpuNanos() - t0;
                var prompt = ReplyPrompt.Build(context, dispatch, budget);
                bytes += GC.GetAllocatedBytesForCurrentThread() - a0;
                cpu += ThreadCpuNanos() - t0;
                promptTokens = prompt.TotalTokens;
            }

            return [cpu / 1000.0 / count, (double)bytes / count, contextCpu / 1000.0 / count, (double)contextBytes / count];
        }

        RunBlock(WarmupExchanges);
        var blocks = Enumerable.Range(0, 5).Select(_ => RunBlock(Exchanges / 5)).ToList();
        return (Median(blocks.Select(b => b[0])), Median(blocks.Select(b => b[1])), Median(blocks.Select(b => b[2])), Median(blocks.Select(b => b[3])), promptTokens);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static long ThreadCpuNanos()
    {
        const int ThreadCpuTimeClock = 3;
        return ClockGetTime(ThreadCpuTimeClock, out var t) == 0 ? (t.Seconds * 1_000_000_000) + t.Nanoseconds : throw new InvalidOperationException("clock_gettime failed");
    }

    /// <summary>A chat's definitions and what it remembers.</summary>
    private sealed record Shape(string Name, ReplyDefinitions Definitions, ChatMemory Memory, bool PinFirstUserTurn)
    {
        private static readonly DateTimeOffset Created = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        /// <summary>The <c>send</c> scenario's chat: its one short character, no persona, memory or lore.</summary>
        public static Shape BenchChat()
        {
            var ada = new Character("ch-ada", "bench-owner", "Ada",
                "You are Ada, a patient mathematician who explains ideas with small stories and asks questions back.",
                "Hello! I'm Ada. Ask me anything about numbers, puzzles or the stories behind them.", "", CharacterVisibility.Public, Created);
            return new Shape("send's chat (short character, nothing remembered)",
                new ReplyDefinitions(new Dictionary<string, Character> { [ada.Id] = ada }, null), ChatMemory.Empty, PinFirstUserTurn: false);
        }

        /// <summary>An imported card's size: every definition field, a persona, a memory note, a summary, one pin and a lorebook of 24 entries.</summary>
        public static Shape FullCard()
        {
            string Words(int seed, int chars) => Sample.Text(new Random(seed), chars, chars);
            var card = new Character("ch-mira", "owner", "Mira", Words(1, 600), "Welcome aboard, {{user}}.", "", CharacterVisibility.Public, Created)
            {
                Description = "{{char}} is the harbour pilot of Port Sel. " + Words(2, 900),
                Personality = Words(3, 300),
                Scenario = "{{user}} has just arrived at the harbour. " + Words(4, 400),
                ExampleDialogues = "<START>\n{{user}}: " + Words(5, 200) + "\n{{char}}: " + Words(6, 300) + "\n<START>\n{{user}}: " + Words(7, 200) + "\n{{char}}: " + Words(8, 300),
                SystemPrompt = "{{original}} Keep replies under 200 words.",
                PostHistoryInstructions = "Stay in character as {{char}}; answer {{user}} directly.",
            };
            var persona = new UserPersona("p-1", UserId, "Sam", Words(9, 300), IsDefault: true, [], Created, Created);
            var entries = Enumerable.Range(0, 24).Select(i => new LoreEntry($"e{i:D2}")
            {
                Keys = i switch
                {
                    0 => ["/harbou?r/i"],
                    1 => ["/lant(e|er)rns?/"],
                    _ => [Sample.Word(i), Sample.Word(i + 7)],
                },
                Content = $"{{{{char}}}} knows entry {i}: " + Words(100 + i, 240),
                Constant = i == 23,
                Order = 100 + i,
                Position = i % 3 == 0 ? LorePosition.AtDepth : LorePosition.BeforeHistory,
            }).ToList();
            var book = new Lorebook("lb-1", "owner", "Port Sel") { CharacterId = card.Id, Entries = entries, ScanDepth = 2 };
            var memory = new ChatMemory("Sam is afraid of deep water. " + Words(10, 300), Depth: 4,
                new ChatSummary(1, ThroughSeq: 2, "Sam arrived and met Mira. " + Words(11, 1200), Created)) { SummaryGeneration = 1 };
            return new Shape("imported card (full definition, persona, note, summary, pin, 24-entry lorebook)",
                new ReplyDefinitions(new Dictionary<string, Character> { [card.Id] = card }, persona) { Lorebooks = [book] }, memory, PinFirstUserTurn: true);
        }
    }

    /// <summary>The chat as it grows: each exchange a user turn and its owed reply, the reply before it completed.</summary>
    private sealed class ChatLog(Shape shape)
    {
        private readonly List<(long Seq, bool User, string Text)> _turns = [];
        private readonly Random _random = new(17);
        private readonly string _speaker = shape.Definitions.Cast.Keys.Single();
        private long _seq;

        public (ChatWindow Window, ReplyKey Key) Next(int windowTurns)
        {
            if (_seq == 0)
            {
                // Deep enough that the window never reaches the start (a long chat), with its summary behind it.
                _seq = 1000;
            }

            if (_turns.Count > 0)
            {
                // The previous reply completed.
                _turns[^1] = (_turns[^1].Seq, false, Sample.Text(_random, 120, 240));
            }

            _turns.Add((++_seq, true, Sample.Text(_random, 100, 300)));
            _turns.Add((++_seq, false, ""));
            while (_turns.Count < windowTurns)
            {
                // The chat's earlier exchanges, before the first measured one.
                _turns.Insert(0, (_turns[0].Seq - 1, _turns[0].Seq % 2 == 0, Sample.Text(_random, 120, 240)));
            }

            if (_turns.Count > windowTurns)
            {
                _turns.RemoveRange(0, _turns.Count - windowTurns);
            }

            // Fresh strings each time, as a window decoded from Redis has them.
            var newestFirst = new List<ChatTurn>(_turns.Count);
            for (var i = _turns.Count - 1; i >= 0; i--)
            {
                var (seq, user, text) = _turns[i];
                var pending = i == _turns.Count - 1;
                newestFirst.Add(new ChatTurn(ChatId, seq, user ? AuthorRole.User : AuthorRole.Character, user ? null : _speaker, new string(text.AsSpan()),
                    user ? ReplyState.Complete : pending ? ReplyState.Pending : ReplyState.Complete, user ? null : "cand-" + seq.ToString(CultureInfo.InvariantCulture),
                    user ? 0 : 1, DateTimeOffset.UnixEpoch, null, user ? null : seq - 1));
            }

            var pinned = shape.PinFirstUserTurn ? new long[] { newestFirst.Last(t => t.Role == AuthorRole.User).Seq } : [];
            var window = new ChatWindow(ChatId, UserId, [_speaker], _seq, newestFirst) { Memory = shape.Memory, PinnedSeqs = pinned };
            return (window, new ReplyKey(ChatId, _seq, newestFirst[0].CandidateId!));
        }
    }

    private sealed class PreparedWindows : IChatWindows
    {
        public ChatWindow? Window { get; set; }

        public int MaxTurns => 64;

        public Task<ChatWindow?> GetAsync(string chatId, int maxTurns, CancellationToken cancellationToken) => Task.FromResult(Window);

        public ValueTask<WindowHead?> GetHeadAsync(string chatId, int maxTurns, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class PreparedDefinitions(ReplyDefinitions definitions) : IReplyDefinitions
    {
        public Task<ReplyDefinitions> LoadAsync(string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, CancellationToken cancellationToken) =>
            Task.FromResult(definitions);
    }

    private static class Sample
    {
        private static readonly string[] Words =
        [
            "harbour", "lantern", "tide", "rope", "gull", "night", "storm", "compass", "anchor", "pilot", "map", "sail", "island", "light",
            "the", "a", "and", "we", "you", "said", "will", "could", "under", "over", "through", "quietly", "bright", "cold", "old", "new",
        ];

        public static string Word(int i) => Words[i % Words.Length];

        public static string Text(Random random, int min, int max)
        {
            var target = random.Next(min, max + 1);
            var text = new System.Text.StringBuilder(target + 16);
            while (text.Length < target)
            {
                text.Append(text.Length > 0 ? " " : "").Append(Words[random.Next(Words.Length)]);
            }

            return text.Append('.').ToString();
        }
    }
}
