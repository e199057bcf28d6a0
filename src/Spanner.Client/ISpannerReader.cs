namespace Spanner.Client;

/// <summary>
/// Runs queries, whatever they read from: the database's latest data (<see cref="SpannerDatabaseClient"/>, each
/// query a strong single-use read), one fixed timestamp (<see cref="SpannerSnapshot"/>), or a read-write
/// transaction (<see cref="SpannerTransaction"/>, with locks). Code that only reads takes this, so the caller
/// decides how consistent its reads are with each other.
/// </summary>
public interface ISpannerReader
{
    /// <summary>Streams the rows of <paramref name="statement"/>.</summary>
    /// <exception cref="SpannerException">The query failed.</exception>
    IAsyncEnumerable<SpannerRow> QueryAsync(SpannerStatement statement, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="statement"/> and returns all its rows.</summary>
    /// <exception cref="SpannerException">The query failed.</exception>
    Task<List<SpannerRow>> QueryListAsync(SpannerStatement statement, CancellationToken cancellationToken = default);
}
