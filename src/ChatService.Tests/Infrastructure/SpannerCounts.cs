using Spanner.Client;

namespace ChatService.Tests.Infrastructure;

/// <summary>Counts read straight from a database, for tests whose service runs in another process.</summary>
public static class SpannerCounts
{
    /// <summary>The first column of the first row of <paramref name="sql"/>, a <c>SELECT COUNT(*)</c>.</summary>
    public static async Task<long> CountAsync(this SpannerDatabaseClient database, string sql) =>
        (await database.QueryListAsync(new SpannerStatement(sql), cancellationToken: TestContext.Current.CancellationToken))[0].Get<long>(0);
}
