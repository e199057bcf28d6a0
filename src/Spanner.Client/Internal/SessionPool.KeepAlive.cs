namespace Spanner.Client.Internal;

internal sealed partial class SessionPool
{
    private static readonly TimeSpan MaxKeepAliveTick = TimeSpan.FromMinutes(1);

    private readonly ITimer _keepAliveTimer;
    private int _keepAliveRunning;

    /// <summary>How often idle sessions are checked: a quarter of the interval, at most once a minute.</summary>
    internal TimeSpan KeepAliveTick
    {
        get
        {
            var quarter = _options.SessionKeepAliveInterval / 4;
            return quarter < MaxKeepAliveTick ? quarter : MaxKeepAliveTick;
        }
    }

    private ITimer StartKeepAlive() =>
        _time.CreateTimer(static state => ((SessionPool)state!).OnKeepAliveTick(), this, KeepAliveTick, KeepAliveTick);

    private void OnKeepAliveTick()
    {
        // Ticks never overlap: a slow ping round just skips the next tick.
        if (Interlocked.Exchange(ref _keepAliveRunning, 1) == 1)
        {
            return;
        }

        _ = KeepAliveAsync();
    }

    /// <summary>Runs SELECT 1 on every idle session unused for longer than the keep-alive interval.</summary>
    internal async Task KeepAliveAsync()
    {
        try
        {
            foreach (var session in TakeStaleSessions())
            {
                var lost = false;
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await PingAsync(session, timeout.Token);
                }
                catch (SpannerException ex) when (ex.IsSessionNotFound)
                {
                    lost = true;
                }
                catch (Exception ex)
                {
                    Log.KeepAliveFailed(_logger, session.Name, ex);
                }

                Release(session, discard: lost);
            }
        }
        finally
        {
            Volatile.Write(ref _keepAliveRunning, 0);
        }
    }

    /// <summary>
    /// Checks out the stale idle sessions, each holding a slot so the ping never pushes the pool past its
    /// maximum; sessions stay checked out until pinged, so no caller can use one mid-ping.
    /// </summary>
    private List<PooledSession> TakeStaleSessions()
    {
        var cutoff = _time.GetUtcNow() - _options.SessionKeepAliveInterval;
        var stale = new List<PooledSession>();
        lock (_gate)
        {
            if (_disposed || _idle.Count == 0)
            {
                return stale;
            }

            var keep = new List<PooledSession>(_idle.Count);
            foreach (var session in _idle)
            {
                if (session.LastUsed <= cutoff && _slots.Wait(0))
                {
                    stale.Add(session);
                }
                else
                {
                    keep.Add(session);
                }
            }

            _idle.Clear();
            for (var i = keep.Count - 1; i >= 0; i--)
            {
                _idle.Push(keep[i]);
            }
        }

        return stale;
    }
}
