using System.Globalization;

namespace ChatService.Bench;

/// <summary>
/// The command line: <c>&lt;scenario&gt; [--concurrency N[,N...]] [--duration 20s] [--warmup 5s] [--out results/]</c>
/// and a few scenario knobs. Every option has a default that keeps one scenario within a minute or two.
/// </summary>
internal sealed class BenchOptions
{
    public const string Usage = """
        usage: dotnet run -c Release --project src/ChatService.Bench -- <scenario> [options]

        scenarios:
          history-hot    GetHistory on warm chats (cache on), with bare-gRPC and raw-Redis baselines
          history-cold   GetHistory with the cache bypassed (Redis__Endpoints empty): every read from Spanner
          send           full exchanges: SendMessage and its reply stream to Completed; TTFT overhead per
                         exchange beyond the commit and each reply's logged backend time to first token
          streams        K reply streams held open at once; the service's RSS
          chaos          mixed load while a Redis primary is killed and the service is SIGKILLed and restarted
          health         gRPC health Check (readiness) right after a warm GetHistory at the same concurrency
          follow         two service processes A and B: replies generated on A followed live with StreamReply
                         on A and on B (delay per event against the sender's stream), replies on A cancelled
                         with CancelReply on B, then a fan-out of followers on B; Spanner reads on B, Redis
                         commands and CPU, B's CPU and memory
          prompt         in process, no stack: CPU time and bytes allocated per warm reply for its context
                         (from a window already read) and its prompt, the work between accepted and the model call
          all            history-hot, history-cold, send, streams, chaos in turn (not health, not follow, not prompt)

        options:
          --concurrency N[,N...]  callers (default: 16); a list runs each level
          --duration 20s          measured window per run (s, ms or m suffix)
          --warmup 5s             load before the window that is not recorded
          --out results/          where the JSON and markdown results go
          --chats 50              chats of the history and health scenarios
          --turns 24              turns per history chat besides the greeting (user + reply pairs)
          --callers-per-channel 8 callers sharing one GrpcChannel (one HTTP/2 connection each)
          --streams 10000         streams scenario: replies held open at once
          --open-concurrency 64   streams and follow fan-out: SendMessage calls awaiting Accepted at once
          --hold 60s              streams: how long each simulated reply takes; follow: the longest fan-out reply
          --replies 50            follow: replies followed in the delay part (--concurrency of them at once)
          --cancels 50            follow: replies cancelled on B in the cancel part (4 at once)
          --fanout-replies 200    follow: replies started at once in the fan-out part
          --followers 10          follow: StreamReply followers on B per fan-out reply
          --ttft 100ms            follow: the simulated backend's time to first token
          --tokens-per-second 30  follow: the simulated backend's pace
          --min-tokens 40         follow: shortest simulated reply, in tokens
          --max-tokens 80         follow: longest simulated reply, in tokens
          --no-baselines          history-hot without the baselines
          --no-near-cache         history-hot and health: the service without its near cache
                                  (Redis:NearCacheBytes=0), so every first page reads Redis
          --fresh-emulator        each scenario on a Spanner emulator of its own, started and stopped
                                  by the bench (the shared one slows down with its history)
          --trace DIR             history-hot/-cold: a sample profile of the service during each service
                                  window (not the baselines), written to DIR, and the service's CPU per
                                  call by component in the report
          --profiler dotnet-trace with --trace: dotnet-trace (dotnet tool install -g dotnet-trace; EventPipe's
                                  thread-time sampler) or perf (Linux perf, CPU samples; needs root)
        """;

    /// <summary>False: the service runs without its near cache (<c>--no-near-cache</c>).</summary>
    public bool NearCache { get; init; } = true;

    public required string Scenario { get; init; }

    public IReadOnlyList<int> Concurrency { get; init; } = [16];

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(5);

    public string OutputDirectory { get; init; } = "results";

    public int Chats { get; init; } = 50;

    public int TurnsPerChat { get; init; } = 24;

    public int CallersPerChannel { get; init; } = 8;

    public int Streams { get; init; } = 10_000;

    public int OpenConcurrency { get; init; } = 64;

    public TimeSpan Hold { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>follow: replies whose events are timed on three streams (the sender's, a follower on A, a follower on B).</summary>
    public int Replies { get; init; } = 50;

    /// <summary>follow: replies generating on A that the cancel part cancels with CancelReply on B.</summary>
    public int Cancels { get; init; } = 50;

    /// <summary>follow: replies started together in the fan-out part.</summary>
    public int FanOutReplies { get; init; } = 200;

    /// <summary>follow: StreamReply callers on B for each fan-out reply.</summary>
    public int FollowersPerReply { get; init; } = 10;

    /// <summary>follow: the simulated backend's time to first token.</summary>
    public TimeSpan TimeToFirstToken { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>follow: the simulated backend's tokens per second.</summary>
    public double TokensPerSecond { get; init; } = 30;

    public int MinTokens { get; init; } = 40;

    public int MaxTokens { get; init; } = 80;

    public bool Baselines { get; init; } = true;

    public bool FreshEmulator { get; init; }

    /// <summary>history-hot/-cold: where the service's CPU sample traces go; null: no trace.</summary>
    public string? TraceDirectory { get; init; }

    /// <summary>With <see cref="TraceDirectory"/>: <c>dotnet-trace</c> or <c>perf</c>.</summary>
    public string Profiler { get; init; } = "dotnet-trace";

    public static BenchOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            throw new ArgumentException("a scenario is required");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }

            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[arg[2..eq]] = arg[(eq + 1)..];
            }
            else if (arg is "--no-baselines" or "--fresh-emulator" or "--no-near-cache")
            {
                flags.Add(arg[2..]);
            }
            else if (i + 1 < args.Length)
            {
                values[arg[2..]] = args[++i];
            }
            else
            {
                throw new ArgumentException($"option '{arg}' needs a value");
            }
        }

        var known = new[]
        {
            "concurrency", "duration", "warmup", "out", "chats", "turns", "callers-per-channel", "streams", "open-concurrency", "hold",
            "replies", "cancels", "fanout-replies", "followers", "ttft", "tokens-per-second", "min-tokens", "max-tokens", "trace", "profiler",
        };
        foreach (var key in values.Keys.Where(k => !known.Contains(k)))
        {
            throw new ArgumentException($"unknown option '--{key}'");
        }

        var defaults = new BenchOptions { Scenario = args[0] };
        var minTokens = values.TryGetValue("min-tokens", out var mit) ? PositiveInt(mit, "min-tokens") : defaults.MinTokens;
        var maxTokens = values.TryGetValue("max-tokens", out var mat) ? PositiveInt(mat, "max-tokens") : defaults.MaxTokens;
        if (minTokens > maxTokens)
        {
            throw new ArgumentException($"--min-tokens ({minTokens}) is more than --max-tokens ({maxTokens})");
        }

        if (values.ContainsKey("trace") && args[0] is not ("history-hot" or "history-cold" or "all"))
        {
            throw new ArgumentException("--trace applies to history-hot and history-cold only");
        }

        if (values.TryGetValue("profiler", out var profiler) && (!values.ContainsKey("trace") || profiler is not ("dotnet-trace" or "perf")))
        {
            throw new ArgumentException("--profiler is dotnet-trace or perf, with --trace");
        }

        return new BenchOptions
        {
            Scenario = args[0],
            Concurrency = values.TryGetValue("concurrency", out var c) ? [.. c.Split(',').Select(v => PositiveInt(v, "concurrency"))] : defaults.Concurrency,
            Duration = values.TryGetValue("duration", out var d) ? ParseDuration(d) : defaults.Duration,
            Warmup = values.TryGetValue("warmup", out var w) ? ParseDuration(w) : defaults.Warmup,
            OutputDirectory = values.GetValueOrDefault("out", defaults.OutputDirectory),
            Chats = values.TryGetValue("chats", out var ch) ? PositiveInt(ch, "chats") : defaults.Chats,
            TurnsPerChat = values.TryGetValue("turns", out var t) ? PositiveInt(t, "turns") : defaults.TurnsPerChat,
            CallersPerChannel = values.TryGetValue("callers-per-channel", out var cpc) ? PositiveInt(cpc, "callers-per-channel") : defaults.CallersPerChannel,
            Streams = values.TryGetValue("streams", out var s) ? PositiveInt(s, "streams") : defaults.Streams,
            OpenConcurrency = values.TryGetValue("open-concurrency", out var oc) ? PositiveInt(oc, "open-concurrency") : defaults.OpenConcurrency,
            Hold = values.TryGetValue("hold", out var h) ? ParseDuration(h) : defaults.Hold,
            Replies = values.TryGetValue("replies", out var r) ? PositiveInt(r, "replies") : defaults.Replies,
            Cancels = values.TryGetValue("cancels", out var cr) ? PositiveInt(cr, "cancels") : defaults.Cancels,
            FanOutReplies = values.TryGetValue("fanout-replies", out var fr) ? PositiveInt(fr, "fanout-replies") : defaults.FanOutReplies,
            FollowersPerReply = values.TryGetValue("followers", out var f) ? PositiveInt(f, "followers") : defaults.FollowersPerReply,
            TimeToFirstToken = values.TryGetValue("ttft", out var ttft) ? ParseDuration(ttft) : defaults.TimeToFirstToken,
            TokensPerSecond = values.TryGetValue("tokens-per-second", out var tps) ? PositiveNumber(tps, "tokens-per-second") : defaults.TokensPerSecond,
            MinTokens = minTokens,
            MaxTokens = maxTokens,
            Baselines = !flags.Contains("no-baselines"),
            NearCache = !flags.Contains("no-near-cache"),
            FreshEmulator = flags.Contains("fresh-emulator"),
            TraceDirectory = values.GetValueOrDefault("trace"),
            Profiler = profiler ?? defaults.Profiler,
        };
    }

    /// <summary><c>20s</c>, <c>500ms</c>, <c>2m</c>, or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        static double Number(string value) => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        var span = text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Number(text[..^2]))
            : text.EndsWith('s') ? TimeSpan.FromSeconds(Number(text[..^1]))
            : text.EndsWith('m') ? TimeSpan.FromMinutes(Number(text[..^1]))
            : TimeSpan.FromSeconds(Number(text));
        return span < TimeSpan.Zero ? throw new ArgumentException($"negative duration '{text}'") : span;
    }

    private static double PositiveNumber(string text, string name) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && double.IsFinite(value)
            ? value
            : throw new ArgumentException($"--{name} must be a positive number, got '{text}'");

    private static int PositiveInt(string text, string name) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ArgumentException($"--{name} must be a positive integer, got '{text}'");
}
