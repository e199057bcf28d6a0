using ChatService.Chats;
using ChatService.Limits;
using Microsoft.Extensions.Options;

namespace ChatService.Portability;

/// <summary>
/// Admits ImportChat calls: at most Import:MaxConcurrent at once in this process and Import:MaxConcurrentPerUser
/// of one user, since each holds its file and parsed turns until it ends. A call over either is refused before
/// its file is parsed (gRPC has buffered the request by then: the per-call message size limit and Kestrel's
/// stream limits bound that), RESOURCE_EXHAUSTED with a retry delay, as the service's other capacity limits
/// refuse theirs. Imports are keyed by (user, request_id): a retry whose earlier attempt is still running here
/// (winding down after its caller went away) waits for it, within its own deadline, and then proceeds (finding
/// it finished, or resuming it); a retry of an import already started (<c>resuming</c>) never counts against
/// the per-user limit, only the process's.
/// </summary>
internal sealed class ImportGate(IOptions<ImportOptions> options, ILogger<ImportGate> logger)
{
    /// <summary>
    /// When a refused import may try again: a slot frees when an import ends, which cannot be predicted; an
    /// import of a big file takes seconds.
    /// </summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _byUser = new(StringComparer.Ordinal);
    private readonly Dictionary<(string User, string RequestId), TaskCompletionSource> _inFlight = [];
    private int _running;

    /// <summary>Imports running now in this process.</summary>
    public int Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>Tests only: called once an import holds its slot, before it parses its file.</summary>
    internal Func<string, string, CancellationToken, Task>? OnEntered { get; set; }

    /// <summary>A slot for one import of <paramref name="userId"/> without a request id (tests only).</summary>
    public IDisposable Enter(string userId) => TryEnter(userId, requestId: null, resuming: false, out _)
        ?? throw new InvalidOperationException("a keyless slot never waits");

    /// <summary>
    /// A slot for the import <paramref name="requestId"/> of <paramref name="userId"/>, kept until disposed:
    /// waits while an earlier attempt of the same import runs here; RESOURCE_EXHAUSTED when no slot is free.
    /// <paramref name="resuming"/>: the import is already started (its record exists), so the per-user limit
    /// does not apply to it.
    /// </summary>
    public async Task<IDisposable> EnterAsync(string userId, string requestId, bool resuming, CancellationToken cancellationToken)
    {
        var waited = false;
        while (true)
        {
            var slot = TryEnter(userId, requestId, resuming || waited, out var running);
            if (slot is not null)
            {
                if (OnEntered is { } entered)
                {
                    try
                    {
                        await entered(userId, requestId, cancellationToken);
                    }
                    catch
                    {
                        slot.Dispose();
                        throw;
                    }
                }

                return slot;
            }

            await running!.WaitAsync(cancellationToken);
            waited = true;
        }
    }

    private Slot? TryEnter(string userId, string? requestId, bool resuming, out Task? running)
    {
        var limits = options.Value;
        running = null;
        lock (_lock)
        {
            if (requestId is not null && _inFlight.TryGetValue((userId, requestId), out var earlier))
            {
                running = earlier.Task;
                return null;
            }

            var mine = _byUser.GetValueOrDefault(userId);
            if (!resuming && mine >= limits.MaxConcurrentPerUser)
            {
                throw Refuse("concurrent_imports_per_user",
                    $"too many imports in progress: at most {limits.MaxConcurrentPerUser} at a time per user (Import:MaxConcurrentPerUser); " +
                    "wait for yours to finish and retry (the same request_id resumes an interrupted one)");
            }

            if (_running >= limits.MaxConcurrent)
            {
                throw Refuse("concurrent_imports",
                    $"the service is running as many imports as it takes at once ({limits.MaxConcurrent}, Import:MaxConcurrent); retry shortly");
            }

            _byUser[userId] = mine + 1;
            _running++;
            TaskCompletionSource? done = null;
            if (requestId is not null)
            {
                done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _inFlight[(userId, requestId)] = done;
            }

            return new Slot(this, userId, requestId, done);
        }
    }

    private void Leave(string userId, string? requestId, TaskCompletionSource? done)
    {
        lock (_lock)
        {
            _running--;
            if (_byUser[userId] <= 1)
            {
                _byUser.Remove(userId);
            }
            else
            {
                _byUser[userId]--;
            }

            if (requestId is not null)
            {
                _inFlight.Remove((userId, requestId));
            }
        }

        done?.TrySetResult();
    }

    private ChatException Refuse(string limit, string message)
    {
        LimitsMetrics.Reject(limit);
        LimitsLog.Refused(logger, "ImportChat", limit, RetryAfter);
        return new ChatException(ChatErrorKind.ResourceExhausted, message) { RetryAfter = RetryAfter };
    }

    private sealed class Slot(ImportGate gate, string userId, string? requestId, TaskCompletionSource? done) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                gate.Leave(userId, requestId, done);
            }
        }
    }
}
