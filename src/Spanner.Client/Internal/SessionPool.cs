using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>
/// Regular (non-multiplexed) sessions, reused LIFO so the hottest sessions stay warm. At most
/// <see cref="SpannerClientOptions.MaxSessions"/> are checked out at once; further callers wait. Sessions the
/// server lost ("Session not found") are discarded by the caller through <see cref="Release"/>.
/// </summary>
internal sealed partial class SessionPool : IAsyncDisposable
{
    private static readonly TimeSpan DeleteTimeout = TimeSpan.FromSeconds(5);

    private readonly SpannerRpc _rpc;
    private readonly SpannerClientOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SpannerClientStatistics _statistics;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _warmUpGate = new(1, 1);
    private readonly object _gate = new();
    private readonly Stack<PooledSession> _idle = new();
    private readonly HashSet<PooledSession> _all = [];
    private bool _disposed;

    public SessionPool(SpannerRpc rpc, SpannerClientOptions options, TimeProvider time, ILogger logger, SpannerClientStatistics statistics)
    {
        _rpc = rpc;
        _options = options;
        _time = time;
        _logger = logger;
        _statistics = statistics;
        _slots = new SemaphoreSlim(options.MaxSessions, options.MaxSessions);
        _keepAliveTimer = StartKeepAlive();
    }

    /// <summary>Sessions the pool owns (idle and checked out).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>Names of the idle sessions, most recently used first (for diagnostics and tests).</summary>
    public IReadOnlyList<string> IdleSessionNames
    {
        get
        {
            lock (_gate)
            {
                return _idle.Select(s => s.Name).ToList();
            }
        }
    }

    /// <summary>Takes a session, waiting while <see cref="SpannerClientOptions.MaxSessions"/> are in use.</summary>
    public async Task<PooledSession> AcquireAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _slots.WaitAsync(cancellationToken);
        try
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_idle.TryPop(out var idle))
                {
                    return idle;
                }
            }

            var created = await CreateSessionsAsync(1, cancellationToken);
            return created[0];
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <summary>Returns a session; <paramref name="discard"/> drops one the server no longer knows.</summary>
    public void Release(PooledSession session, bool discard = false)
    {
        bool deleteIt;
        lock (_gate)
        {
            deleteIt = _disposed && !discard && _all.Remove(session);
            if (discard)
            {
                _all.Remove(session);
            }
            else if (!_disposed)
            {
                session.LastUsed = _time.GetUtcNow();
                _idle.Push(session);
            }
        }

        if (discard)
        {
            Log.SessionDiscarded(_logger, session.Name, "session not found");
        }

        if (deleteIt)
        {
            _ = DeleteQuietlyAsync(session);
        }

        _slots.Release();
    }

    /// <summary>
    /// Creates sessions up to <see cref="SpannerClientOptions.MinSessions"/> with BatchCreateSessions. When none
    /// were missing, pings one so the call still proves the database is reachable.
    /// </summary>
    public async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _warmUpGate.WaitAsync(cancellationToken);
        try
        {
            int missing;
            lock (_gate)
            {
                missing = _options.MinSessions - _all.Count;
            }

            if (missing > 0)
            {
                var created = await CreateSessionsAsync(missing, cancellationToken);
                lock (_gate)
                {
                    foreach (var session in created)
                    {
                        _idle.Push(session);
                    }
                }

                return;
            }
        }
        finally
        {
            _warmUpGate.Release();
        }

        var pinged = await AcquireAsync(cancellationToken);
        var lost = false;
        try
        {
            await PingAsync(pinged, cancellationToken);
        }
        catch (SpannerException ex) when (ex.IsSessionNotFound)
        {
            lost = true;
            throw;
        }
        finally
        {
            Release(pinged, discard: lost);
        }
    }

    /// <summary>Creates exactly <paramref name="count"/> sessions (BatchCreateSessions may return fewer per call).</summary>
    private async Task<List<PooledSession>> CreateSessionsAsync(int count, CancellationToken cancellationToken)
    {
        var created = new List<PooledSession>(count);
        while (created.Count < count)
        {
            var sessions = await _rpc.BatchCreateSessionsAsync(count - created.Count, cancellationToken);
            if (sessions.Count == 0)
            {
                throw new SpannerException(Grpc.Core.StatusCode.ResourceExhausted, "BatchCreateSessions returned no sessions.");
            }

            var now = _time.GetUtcNow();
            created.AddRange(sessions.Select(s => new PooledSession(s.Name, now)));
        }

        int total;
        lock (_gate)
        {
            foreach (var session in created)
            {
                _all.Add(session);
            }

            total = _all.Count;
        }

        _statistics.RecordSessionsCreated(created.Count);
        Log.SessionsCreated(_logger, created.Count, total);
        return created;
    }

    private Task PingAsync(PooledSession session, CancellationToken cancellationToken) =>
        _rpc.ExecuteSqlAsync(new V1.ExecuteSqlRequest { Session = session.Name, Sql = "SELECT 1" }, routeToLeader: false, cancellationToken);

    private async Task DeleteQuietlyAsync(PooledSession session)
    {
        using var timeout = new CancellationTokenSource(DeleteTimeout);
        try
        {
            await _rpc.DeleteSessionAsync(session.Name, timeout.Token);
        }
        catch (Exception ex)
        {
            Log.SessionDeleteFailed(_logger, session.Name, ex);
        }
    }

    /// <summary>Stops keep-alive and deletes every session on the server (best effort, short timeout).</summary>
    public async ValueTask DisposeAsync()
    {
        List<PooledSession> sessions;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sessions = _idle.ToList();
            foreach (var session in sessions)
            {
                _all.Remove(session);
            }

            _idle.Clear();
        }

        await _keepAliveTimer.DisposeAsync();
        await Task.WhenAll(sessions.Select(DeleteQuietlyAsync));
    }
}
