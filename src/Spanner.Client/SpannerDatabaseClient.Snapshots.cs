namespace Spanner.Client;

public sealed partial class SpannerDatabaseClient
{
    /// <summary>
    /// Begins a read-only transaction whose queries all read at one timestamp: Spanner picks it now, from
    /// <paramref name="bound"/> (strong by default: it sees every commit that finished before this call), and
    /// <see cref="SpannerSnapshot.ReadTimestamp"/> returns it. Use it when several reads must agree with each other.
    /// Dispose the snapshot when done; it holds a pooled session until then.
    /// </summary>
    /// <param name="bound">
    /// <see cref="TimestampBound.Strong"/> (default), <see cref="TimestampBound.ExactStaleness"/> or
    /// <see cref="TimestampBound.ReadTimestamp"/>; <see cref="TimestampBound.MaxStaleness"/> works only for single-use queries.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait for a session and the BeginTransaction call.</param>
    /// <exception cref="ArgumentException"><paramref name="bound"/> is a max-staleness bound.</exception>
    /// <exception cref="SpannerException">Spanner refused to begin the transaction.</exception>
    public async Task<SpannerSnapshot> BeginSnapshotAsync(TimestampBound? bound = null, CancellationToken cancellationToken = default)
    {
        var timestampBound = bound ?? TimestampBound.Strong;
        if (timestampBound.IsSingleUseOnly)
        {
            throw new ArgumentException(
                $"A snapshot cannot use the bound '{timestampBound}': Spanner allows it only for single-use queries. Use a strong, exact-staleness or read-timestamp bound.",
                nameof(bound));
        }

        var readOnly = timestampBound.ToProto();
        readOnly.ReturnReadTimestamp = true;
        for (var sessionReplaced = false; ; sessionReplaced = true)
        {
            var session = await _pool.AcquireAsync(cancellationToken);
            try
            {
                var begun = await Rpc.BeginReadOnlyTransactionAsync(session.Name, readOnly, cancellationToken);
                var readTimestamp = begun.ReadTimestamp?.ToDateTimeOffset()
                    ?? throw new SpannerException(Grpc.Core.StatusCode.Internal, "BeginTransaction returned no read timestamp although asked to.");
                Statistics.RecordSnapshot();
                return new SpannerSnapshot(_pool, session, _queries, _retryPolicy, Statistics, _time, _logger, begun.Id, readTimestamp);
            }
            catch (SpannerException ex) when (ex.IsSessionNotFound)
            {
                _pool.Release(session, discard: true);
                if (sessionReplaced)
                {
                    throw;
                }

                // An idle session the server dropped: nothing has happened yet, so begin again on another one.
                Statistics.RecordRetry();
            }
            catch
            {
                _pool.Release(session);
                throw;
            }
        }
    }
}
