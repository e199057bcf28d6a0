namespace ChatService.Cache;

/// <summary>Drops the cached windows of chats whose updates did not reach Redis, as soon as it answers again.</summary>
internal sealed class CacheInvalidator(HistoryCache cache, TimeProvider timeProvider) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (cache.DirtyCount > 0)
                {
                    await cache.FlushDirtyAsync(stoppingToken);
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
