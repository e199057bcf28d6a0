using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Resilience;

/// <summary>
/// A fake clock that says when code starts waiting on it, so a test moves time on exactly when
/// (and by exactly as much as) the code waits, instead of stepping it on a guess.
/// </summary>
internal sealed class TimerSignallingClock() : FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
{
    private readonly SemaphoreSlim _timersCreated = new(0);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        _timersCreated.Release();
        return timer;
    }

    /// <summary>Completes once a timer has been created since the last call.</summary>
    public Task WaitForTimerAsync(CancellationToken cancellationToken) => _timersCreated.WaitAsync(cancellationToken);
}
