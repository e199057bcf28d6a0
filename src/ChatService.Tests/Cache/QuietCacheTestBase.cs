using ChatService.Tests.Api;
using Spanner.Client;

namespace ChatService.Tests.Cache;

/// <summary>
/// Cache tests on the quiet service (no sweeps, no health probes), so the Spanner client's counters
/// move only for what the test itself does: the reads the cache saves show there.
/// </summary>
public abstract class QuietCacheTestBase(QuietFixture fixture) : ApiTestBase(fixture), IClassFixture<QuietFixture>
{
    protected SpannerClientStatistics Spanner => Fixture.Service<SpannerDatabaseClient>().Statistics;
}
