using System.Text.RegularExpressions;

namespace ChatService.Bench.Profiling;

/// <summary>
/// Which component a CPU sample's stack is charged to. Frames are named <c>Module!Namespace.Type.Method(args)</c>
/// and read from the leaf towards the thread's start: the first frame that a rule below matches decides (when
/// one frame matches several rules, the earlier rule wins). Frames no rule matches (the base library: copies,
/// string encoding, collections, async plumbing, the GC poll where a suspension stopped a running thread,
/// native code) are charged to the nearest caller that a rule matches; a stack that no rule matches at all
/// is "other". The runtime's own threads (GC, EventPipe) are charged by name (<see cref="ForThread"/>).
/// </summary>
internal static class CpuComponents
{
    public const string Other = "other (no rule matched)";

    /// <summary>The server GC's threads (native: dotnet-trace never samples them, so their CPU comes from <c>/proc</c>).</summary>
    public const string GcThreads = "GC (the server GC's threads)";

    /// <summary>EventPipe's and the diagnostics server's threads: dotnet-trace's own cost while it traces.</summary>
    public const string Tracing = "tracing itself (EventPipe, diagnostics threads)";

    /// <summary>dotnet-trace: other threads it never samples (the JIT's tiering thread, native threads); CPU from <c>/proc</c>.</summary>
    public const string OtherUnsampled = "threads dotnet-trace does not sample (JIT tiering, native)";

    public const string SocketSend = "socket send (system calls)";

    public const string SocketReceive = "socket receive and epoll loop (rest of System.Net.Sockets)";

    /// <summary>The rules, in order.</summary>
    public static readonly IReadOnlyList<Rule> Rules =
    [
        new("lock contention (Monitor/Lock slow path)", @"!System\.Threading\.Monitor\.(Try)?Enter_Slowpath|!System\.Threading\.Lock\.\w*Slow", ShowCaller: true),
        new(SocketSend, @"^System\.Net\.Sockets!.*(\.|Sys|TryComplete)Send\w*\(", ShowCaller: true),
        new(SocketReceive, @"^System\.Net\.Sockets!", ShowCaller: true),
        new("Kestrel: HTTP/2 framing, HPACK, response writing, pipes", @"^Microsoft\.AspNetCore\.Server\.Kestrel|^System\.IO\.Pipelines!"),
        new("gRPC call handling (Grpc.AspNetCore)", @"^Grpc\."),
        new("protobuf serialization of the response",
            @"^Google\.Protobuf!(Google\.Protobuf\.(Writ|CodedOutputStream)|.*\.(WriteTo|CalculateSize|Compute\w*Size)\()" +
            @"|^ChatService!ChatService\.Api\.V1\..*\.(InternalWriteTo|WriteTo|CalculateSize)\(|^ChatService!.*__Helper_SerializeMessage" +
            @"|^ChatService!ChatService\.Api\.(HistoryMethod|HistoryPageResponse)\b"),
        new("request parsing and validation (ChatService.Api guards, binder)",
            @"^ChatService!ChatService\.Api\.(MalformedRequestGuard|RequestFrameReader|StrictRequestBinder|RequestValidator|BoundedDecompression|ChatApiBinding)" +
            @"|^ChatService!ChatService\.Api\.V1\.\w+Request\b|^ChatService!.*__Helper_DeserializeMessage"),
        new("authentication and authorization (ChatService.Auth, ASP.NET Core)",
            @"^ChatService!ChatService\.Auth\.|^Microsoft\.AspNetCore\.Authentication|^Microsoft\.AspNetCore\.Authorization"),
        new("telemetry (OpenTelemetry, Activity, metrics, log scopes)",
            @"^OpenTelemetry|^System\.Diagnostics\.DiagnosticSource!|^Microsoft\.Extensions\.Logging|^Microsoft\.Extensions\.Diagnostics" +
            @"|!Microsoft\.AspNetCore\.Hosting\.(HostingApplicationDiagnostics|HostingMetrics)" +
            @"|^ChatService!ChatService\.(Telemetry\.|Api\.ChatScopeInterceptor|Chats\.ChatLogScope|[\w.]*(Metrics|Tracing|Telemetry)\b)"),
        new("Redis client (StackExchange.Redis)", @"^StackExchange\.Redis!|^RESPite!|^Pipelines\.Sockets\.Unofficial!"),
        new("cache decoding and near cache (WindowCodec, TurnWire, NearCache, cached protobuf)",
            @"^ChatService!ChatService\.Cache\.(WindowCodec|NearCache|Proto\.)|^ChatService!ChatService\.Api\.TurnWire\b"),
        new("the service's own history logic (rest of ChatService)", @"^ChatService!"),
        new("ASP.NET Core hosting, routing, middleware, DI", @"^Microsoft\.AspNetCore\.|^Microsoft\.Extensions\."),
        new("thread pool: dispatch, wake-ups, idle spinning",
            @"^System\.Private\.CoreLib!System\.Threading\.(PortableThreadPool|ThreadPoolWorkQueue|LowLevelLifoSemaphore|ThreadPool\.|TimerQueue)"),
    ];

    /// <summary>A generic argument list, <c>[...]</c> without brackets inside.</summary>
    private static readonly Regex GenericArguments = Pattern(@"\[[^\[\]]*\]");

    /// <summary>A generic type's arity, <c>`1</c>.</summary>
    private static readonly Regex GenericArity = Pattern(@"`\d+");

    /// <summary>The rule of each frame name seen.</summary>
    private static readonly Dictionary<string, Rule?> Matched = new(StringComparer.Ordinal);

    /// <summary>Every component in report order: the rules', then those charged by thread name, then other.</summary>
    public static IReadOnlyList<string> All { get; } = [GcThreads, .. Rules.Select(r => r.Component), Tracing, OtherUnsampled, Other];

    /// <summary>The component of a thread by its name, for the runtime's own threads (sampled or not); null for the others.</summary>
    public static string? ForThread(string name) =>
        name.StartsWith(".NET Server GC", StringComparison.Ordinal) || name.StartsWith(".NET BGC", StringComparison.Ordinal) ? GcThreads
        : name is ".NET EventPipe" or ".NET DebugPipe" or ".NET Debugger" ? Tracing
        : null;

    /// <summary>
    /// Charges a stack, given from the leaf (null for a frame without a name: native code, stubs), to a
    /// component; the frame shown for it is the deciding frame, and for the rules that show their caller
    /// (locks, sockets), the first frame above it of another rule that does not.
    /// </summary>
    public static (string Component, string Frame) Attribute(IEnumerable<string?> frames)
    {
        string? firstNamed = null;
        (Rule Rule, string Frame)? decided = null;
        foreach (var name in frames)
        {
            if (name is null)
            {
                continue;
            }

            firstNamed ??= name;
            var rule = RuleFor(name);
            if (rule is null || (decided is not null && rule.ShowCaller))
            {
                continue;
            }

            if (decided is { } by)
            {
                return (by.Rule.Component, $"{by.Frame} <- {ShortName(name)}");
            }

            decided = (rule, ShortName(name));
            if (!rule.ShowCaller)
            {
                break;
            }
        }

        return decided is { } d ? (d.Rule.Component, d.Frame) : (Other, firstNamed is null ? "(no named frame)" : ShortName(firstNamed));
    }

    /// <summary><c>Module!A.B.Type`1+Nested[Generic].Method(args)</c> as <c>B.Type+Nested.Method</c>.</summary>
    public static string ShortName(string frame)
    {
        var bang = frame.IndexOf('!');
        var name = frame[(bang + 1)..];
        if (name == "?")
        {
            return $"{frame[..bang]} (ReadyToRun code)";
        }

        var args = name.IndexOf('(');
        name = (args >= 0 ? name[..args] : name).Replace("pb::Google.Protobuf.IBufferMessage.", "", StringComparison.Ordinal);
        for (var shorter = GenericArguments.Replace(name, ""); shorter != name; shorter = GenericArguments.Replace(name, ""))
        {
            name = shorter;
        }

        // Generic arity markers (`1) go too: a backtick would end the report's code span.
        var parts = GenericArity.Replace(name, "").Split('.');
        return string.Join('.', parts.Skip(Math.Max(0, parts.Length - 3)));
    }

    /// <summary>The first rule that matches a frame, or null (remembered per frame name).</summary>
    private static Rule? RuleFor(string frame)
    {
        lock (Matched)
        {
            if (!Matched.TryGetValue(frame, out var rule))
            {
                Matched[frame] = rule = Rules.FirstOrDefault(r => r.Frame.IsMatch(frame));
            }

            return rule;
        }
    }

    private static Regex Pattern(string pattern) => new(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);

    /// <param name="Component">What the report calls it.</param>
    /// <param name="FramePattern">A regular expression over <c>Module!Namespace.Type.Method(args)</c>.</param>
    /// <param name="ShowCaller">Name the next frame of another component beside the deciding one (whose lock, whose socket).</param>
    internal sealed record Rule(string Component, string FramePattern, bool ShowCaller = false)
    {
        public Regex Frame { get; } = Pattern(FramePattern);
    }
}
