using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Spanner;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that records every one-shot timer (what <c>Task.Delay</c> creates) and can drive
/// a task to completion by advancing the clock exactly by each delay it waits for: retry loops run instantly and
/// the test sees the delays they chose.
/// </summary>
internal sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _started = Channel.CreateUnbounded<TimeSpan>();
    private readonly List<TimeSpan> _delays = [];

    public RecordingTimeProvider()
        : base(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public IReadOnlyList<TimeSpan> Delays
    {
        get
        {
            lock (_delays)
            {
                return [.. _delays];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (period == Timeout.InfiniteTimeSpan && dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_delays)
            {
                _delays.Add(dueTime);
            }

            _started.Writer.TryWrite(dueTime);
        }

        return timer;
    }

    /// <summary>Awaits <paramref name="task"/>, advancing the clock past every delay it starts meanwhile.</summary>
    public async Task<T> DriveAsync<T>(Task<T> task)
    {
        var timeout = Task.Delay(TimeSpan.FromSeconds(30));
        while (!task.IsCompleted)
        {
            var next = _started.Reader.ReadAsync().AsTask();
            var first = await Task.WhenAny(task, next, timeout);
            if (first == timeout)
            {
                throw new TimeoutException("The task neither completed nor started a delay within 30 s.");
            }

            if (first == next)
            {
                Advance(await next);
            }
        }

        return await task;
    }
}
