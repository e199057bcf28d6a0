namespace ChatService.Cache;

/// <summary>
/// Drops the cached windows of chats whose updates did not reach Redis, as soon as it answers
/// again, and once more on shutdown (the marks live only in this process).
/// </summary>
internal sealed class CacheInvalidator(HistoryCache cache, TimeProvider timeProvider) : BackgroundService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (cache.DirtyCount > 0)
        {
            await cache.FlushDirtyAsync();
        }
    }

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (cache.DirtyCount > 0)
                {
                    await cache.FlushDirtyAsync();
                }

                await Task.Delay(Interval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
