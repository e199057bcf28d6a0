namespace ChatService.Cache;

/// <summary>
/// Consecutive-failure circuit breaker. Closed: calls go through. After the threshold of
/// consecutive failures it opens: calls are refused for the open duration. Then it lets one
/// probe through (half-open); its success closes the breaker, its failure opens it again.
/// </summary>
public sealed class CircuitBreaker(int failureThreshold, TimeSpan openDuration, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private int _failures;
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;
    private bool _probing;

    /// <summary>Raised when the breaker closes after having been open.</summary>
    public event Action? Closed;

    /// <summary>Raised when failures open the breaker.</summary>
    public event Action? Opened;

    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return _failures >= failureThreshold;
            }
        }
    }

    /// <summary>True when a call may go to Redis now (closed, or the one half-open probe).</summary>
    public bool TryEnter()
    {
        // The common case, closed, without the lock (a stale read only delays a change by one call).
        if (Volatile.Read(ref _failures) < failureThreshold)
        {
            return true;
        }

        lock (_gate)
        {
            if (_failures < failureThreshold)
            {
                return true;
            }

            if (_probing || timeProvider.GetUtcNow() < _openUntil)
            {
                return false;
            }

            _probing = true;
            return true;
        }
    }

    public void Success()
    {
        if (Volatile.Read(ref _failures) == 0)
        {
            return;
        }

        bool wasOpen;
        lock (_gate)
        {
            wasOpen = _failures >= failureThreshold;
            _failures = 0;
            _probing = false;
        }

        if (wasOpen)
        {
            Closed?.Invoke();
        }
    }

    public void Failure()
    {
        bool opened;
        lock (_gate)
        {
            _failures++;
            _probing = false;
            opened = _failures == failureThreshold;
            if (_failures >= failureThreshold)
            {
                _openUntil = timeProvider.GetUtcNow() + openDuration;
            }
        }

        if (opened)
        {
            Opened?.Invoke();
        }
    }
}
