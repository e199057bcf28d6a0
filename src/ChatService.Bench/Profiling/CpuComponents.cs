using System.Text.RegularExpressions;

namespace ChatService.Bench.Profiling;

/// <summary>
/// Which component a CPU sample's stack is charged to. Frames are named <c>Module!Namespace.Type.Method(args)</c>
/// and read from the leaf towards the thread's start: the first frame that a rule below matches decides (when
/// one frame matches several rules, the earlier rule wins). Frames no rule matches (the base library: copies,
/// string encoding, collections, async plumbing, and the GC poll where the sampler stopped a running thread)
/// are charged to the nearest caller that a rule matches; a stack that no rule matches at all is "other".
/// The service's threads that the sampler never sees are charged by thread name (<see cref="ForThread"/>).
/// </summary>
internal static class CpuComponents
{
    public const string Other = "other (no rule matched)";

    /// <summary>The server GC's threads: native, never sampled; their CPU comes from <c>/proc</c>.</summary>
    public const string GcThreads = "GC (server GC threads, from /proc)";

    /// <summary>EventPipe's and the diagnostics server's threads while tracing: the profiler's own cost.</summary>
    public const string Tracing = "tracing itself (EventPipe and diagnostics threads, from /proc)";

    /// <summary>Other threads that are never sampled (the JIT's tiering thread, native threads).</summary>
    public const string OtherUnsampled = "other threads not sampled (from /proc)";

    /// <summary>The rules, in order.</summary>
    public static readonly IReadOnlyList<Rule> Rules =
    [
        new("lock contention (Monitor/Lock slow path)", @"!System\.Threading\.Monitor\.(Try)?Enter_Slowpath|!System\.Threading\.Lock\.\w*Slow", ShowCaller: true),
        new("socket send (system calls)", @"^System\.Net\.Sockets!.*(\.|Sys|TryComplete)Send\w*\(", ShowCaller: true),
        new("socket receive and epoll loop (rest of System.Net.Sockets)", @"^System\.Net\.Sockets!", ShowCaller: true),
        new("Kestrel: HTTP/2 framing, HPACK, response writing, pipes", @"^Microsoft\.AspNetCore\.Server\.Kestrel|^System\.IO\.Pipelines!"),
        new("gRPC call handling (Grpc.AspNetCore)", @"^Grpc\."),
        new("protobuf serialization of the response",
            @"^Google\.Protobuf!(Google\.Protobuf\.(Writ|CodedOutputStream)|.*\.(WriteTo|CalculateSize|Compute\w*Size)\()" +
            @"|^ChatService!ChatService\.Api\.V1\..*\.(InternalWriteTo|WriteTo|CalculateSize)\(|^ChatService!.*__Helper_SerializeMessage"),
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
        new("cache decoding (ChatService.Cache.WindowCodec, cached-turn protobuf)", @"^ChatService!ChatService\.Cache\.(WindowCodec|Proto\.)"),
        new("the service's own history logic (rest of ChatService)", @"^ChatService!"),
        new("ASP.NET Core hosting, routing, middleware, DI", @"^Microsoft\.AspNetCore\.|^Microsoft\.Extensions\."),
        new("thread pool: dispatch, wake-ups, idle spinning",
            @"^System\.Private\.CoreLib!System\.Threading\.(PortableThreadPool|ThreadPoolWorkQueue|LowLevelLifoSemaphore|ThreadPool\.|TimerQueue)"),
    ];

    /// <summary>Every component in report order: the rules', then those charged by thread name, then other.</summary>
    public static IReadOnlyList<string> All { get; } = [GcThreads, .. Rules.Select(r => r.Component), Tracing, OtherUnsampled, Other];

    /// <summary>
    /// A sample taken in native code (preemptive mode) counts as on CPU unless its first named frame is one of
    /// these blocking waits: semaphores, events, monitors, sleeps, joins, the socket engine's epoll wait, the
    /// file watcher's inotify read, a thread-pool worker parked in its semaphore. Samples in native code that
    /// are not waits are system calls that do work (socket sends and receives, semaphore releases) or the
    /// runtime's allocation path.
    /// </summary>
    private static readonly Regex Wait = Pattern(
        @"!System\.Threading\.(WaitHandle\.Wait|LowLevelLifoSemaphore\.Wait|LowLevelMonitor\.Wait|Monitor\.Wait|ManualResetEventSlim\.Wait" +
        @"|SemaphoreSlim\.Wait|Thread\.Sleep|Thread\.Join|Tasks\.Task\.(SpinThenBlockingWait|InternalWait|Wait)|PortableThreadPool\+WorkerThread\.WorkerThreadStart" +
        @"|PortableThreadPool\+GateThread|TimerQueue\.TimerThread|WaitSubsystem)" +
        @"|^System\.Net\.Sockets!System\.Net\.Sockets\.SocketAsyncEngine\.EventLoop|^System\.IO\.FileSystem\.Watcher!|!Interop\+Sys\.(WaitForSocketEvents|Poll|WaitPid)");

    /// <summary>The GC poll where a running thread stops when the runtime is suspended (for a sample, or for a GC).</summary>
    private static readonly Regex GcPoll = Pattern(@"!System\.Threading\.Thread\.<?PollGC");

    /// <summary>The component of a thread by its name, for the runtime's own threads (sampled or not); null for the others.</summary>
    public static string? ForThread(string name) =>
        name.StartsWith(".NET Server GC", StringComparison.Ordinal) || name.StartsWith(".NET BGC", StringComparison.Ordinal) ? GcThreads
        : name is ".NET EventPipe" or ".NET DebugPipe" or ".NET Debugger" ? Tracing
        : null;

    /// <summary>Whether a sample is CPU time: managed code running (or ready to run), or native code that is not a known wait.</summary>
    /// <param name="managed">The sampler found the thread running managed code (cooperative mode).</param>
    /// <param name="firstNamedFrame">The sample's innermost frame with a name, or null when it has none.</param>
    public static bool IsOnCpu(bool managed, string? firstNamedFrame) =>
        firstNamedFrame is not null && (managed || !Wait.IsMatch(firstNamedFrame));

    /// <summary>Whether a sample's innermost named frame is the GC poll (the thread was stopped there).</summary>
    public static bool IsGcPoll(string? firstNamedFrame) => firstNamedFrame is not null && GcPoll.IsMatch(firstNamedFrame);

    /// <summary>The index in <see cref="Rules"/> of the rule that matches a frame, or -1.</summary>
    public static int RuleFor(string frame)
    {
        for (var i = 0; i < Rules.Count; i++)
        {
            if (Rules[i].Frame.IsMatch(frame))
            {
                return i;
            }
        }

        return -1;
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
