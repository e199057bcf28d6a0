using StackExchange.Redis;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// Waits on a reply log in Redis for its final event. The writer appends the final event in the background, so a
/// client can hold it before the log does: a test that deletes the log "after the end" must first see the end there
/// (a log deleted earlier is rewritten whole, the live final event included, and a replay would follow that).
/// </summary>
internal static class ReplyLogKeys
{
    /// <summary>Polls the log's last entry (XREVRANGE key + - COUNT 1) until it is the final one (field <c>x</c> is 1).</summary>
    public static async Task WaitForFinalAsync(this IDatabase redis, string key, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            var last = await redis.StreamRangeAsync(key, "-", "+", count: 1, messageOrder: Order.Descending);
            if (last.Length == 1 && last[0]["x"] == "1")
            {
                return;
            }

            try
            {
                await Task.Delay(20, timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"the reply log {key} did not end within 10 s ({last.Length} entries at its end)");
            }
        }
    }

    /// <summary>Polls until the log holds at least one entry (its Accepted, the first append), for up to 10 s.</summary>
    public static async Task WaitForFirstAsync(this IDatabase redis, string key, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (await redis.StreamLengthAsync(key) == 0)
        {
            if (DateTime.UtcNow >= until)
            {
                throw new TimeoutException($"the reply log {key} holds no event after 10 s");
            }

            await Task.Delay(50, ct);
        }
    }

    /// <summary>
    /// Deletes the log once its final event is in it (see <see cref="WaitForFinalAsync"/>, which throws after
    /// 10 s when the log never ends or is not there); false only when the key went between that wait and the delete.
    /// </summary>
    public static async Task<bool> DeleteWhenEndedAsync(this IDatabase redis, string key, CancellationToken ct)
    {
        await redis.WaitForFinalAsync(key, ct);
        return await redis.KeyDeleteAsync(key);
    }
}
