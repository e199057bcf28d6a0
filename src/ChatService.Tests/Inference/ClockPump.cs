using Microsoft.Extensions.Time.Testing;

namespace ChatService.Tests.Inference;

/// <summary>
/// Runs async work against a <see cref="FakeTimeProvider"/>: whenever the work is waiting, the
/// clock moves on by a step, so timeouts and delays elapse on fake time, without sleeping them.
/// </summary>
internal static class ClockPump
{
    public static async Task<T> RunAsync<T>(FakeTimeProvider clock, Func<Task<T>> work, TimeSpan step, TimeSpan? limit = null)
    {
        var task = Task.Run(work);
        var end = clock.GetUtcNow() + (limit ?? TimeSpan.FromHours(1));
        while (!task.IsCompleted)
        {
            // Let the work run up to its next wait before time moves.
            await Task.WhenAny(task, Task.Delay(5, TestContext.Current.CancellationToken));
            if (task.IsCompleted)
            {
                break;
            }

            if (clock.GetUtcNow() >= end)
            {
                throw new TimeoutException($"The work did not finish within {limit} of fake time.");
            }

            clock.Advance(step);
        }

        return await task;
    }

    /// <summary>Reads the whole event sequence while pumping the clock.</summary>
    public static Task<List<T>> CollectAsync<T>(FakeTimeProvider clock, IAsyncEnumerable<T> events, TimeSpan step, TimeSpan? limit = null) =>
        RunAsync(clock, async () =>
        {
            var list = new List<T>();
            await foreach (var e in events)
            {
                list.Add(e);
            }

            return list;
        }, step, limit);
}
