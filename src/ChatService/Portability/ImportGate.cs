using ChatService.Chats;
using ChatService.Limits;
using Microsoft.Extensions.Options;

namespace ChatService.Portability;

/// <summary>
/// Admits ImportChat calls: at most Import:MaxConcurrent at once in this process and Import:MaxConcurrentPerUser
/// of one user, since each holds its file and parsed turns until it ends. A call over either is refused before
/// its file is read, RESOURCE_EXHAUSTED with a retry delay, as the per-user limits refuse theirs; a retry with
/// the same request_id then resumes whatever the refused caller's earlier attempt wrote.
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

    /// <summary>A slot for one import of <paramref name="userId"/>, kept until disposed; RESOURCE_EXHAUSTED when none is free.</summary>
    public IDisposable Enter(string userId)
    {
        var limits = options.Value;
        lock (_lock)
        {
            var mine = _byUser.GetValueOrDefault(userId);
            if (mine >= limits.MaxConcurrentPerUser)
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
        }

        return new Slot(this, userId);
    }

    private void Leave(string userId)
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
        }
    }

    private ChatException Refuse(string limit, string message)
    {
        LimitsMetrics.Reject(limit);
        LimitsLog.Refused(logger, "ImportChat", limit, RetryAfter);
        return new ChatException(ChatErrorKind.ResourceExhausted, message) { RetryAfter = RetryAfter };
    }

    private sealed class Slot(ImportGate gate, string userId) : IDisposable
    {
        private int _left;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0)
            {
                gate.Leave(userId);
            }
        }
    }
}
