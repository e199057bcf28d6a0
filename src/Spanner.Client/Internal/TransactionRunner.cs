using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>
/// Runs read-write transactions: BeginTransaction, the caller's work, Commit with the buffered mutations.
/// ABORTED anywhere rolls the attempt back and reruns the work after the <see cref="RetryPolicy"/> delay, on the
/// same session (Spanner gives a retried transaction's locks priority on it). A lost session is replaced once.
/// </summary>
internal sealed class TransactionRunner(
    SpannerRpc rpc,
    SessionPool pool,
    QueryStreamer queries,
    RetryPolicy retryPolicy,
    SpannerClientStatistics statistics,
    ILogger logger)
{
    private static readonly TimeSpan RollbackTimeout = TimeSpan.FromSeconds(5);

    public async Task<(T Result, DateTimeOffset CommitTimestamp)> RunAsync<T>(
        Func<SpannerTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        using var activity = SpannerTracing.StartTransaction(rpc.DatabasePath);
        var sessionReplaced = false;
        var attempts = 0;
        PooledSession? session = null;
        try
        {
            session = await pool.AcquireAsync(cancellationToken);
            return await retryPolicy.RunAsync(
                async (attempt, token) =>
                {
                    attempts = attempt;
                    try
                    {
                        return await AttemptAsync(session, work, token);
                    }
                    catch (SpannerException ex) when (ex.IsSessionNotFound && !sessionReplaced)
                    {
                        sessionReplaced = true;
                        statistics.RecordRetry();
                        SpannerTracing.Retrying(activity, "session_not_found", attempt, TimeSpan.Zero);
                        pool.Release(session, discard: true);
                        session = null;
                        session = await pool.AcquireAsync(token);
                        return await AttemptAsync(session, work, token);
                    }
                },
                (failure, attempt, delay) => OnRetry(activity, failure, attempt, delay),
                cancellationToken);
        }
        catch (SpannerException ex) when (ex.StatusCode == StatusCode.Aborted && ex.InnerException is SpannerException)
        {
            Log.TransactionGaveUp(logger, attempts, retryPolicy.Timeout);
            SpannerTracing.Failed(activity, ex);
            throw;
        }
        catch (SpannerException ex) when (ex.IsSessionNotFound && session is not null)
        {
            pool.Release(session, discard: true);
            session = null;
            SpannerTracing.Failed(activity, ex);
            throw;
        }
        catch (Exception ex)
        {
            SpannerTracing.Failed(activity, ex);
            throw;
        }
        finally
        {
            SpannerTracing.SetTag(activity, "spanner.attempts", attempts);
            if (session is not null)
            {
                pool.Release(session);
            }
        }
    }

    private async Task<(T Result, DateTimeOffset CommitTimestamp)> AttemptAsync<T>(
        PooledSession session, Func<SpannerTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var begun = await rpc.BeginReadWriteTransactionAsync(session.Name, cancellationToken);
        statistics.RecordTransactionBegun();
        var transaction = new SpannerTransaction(rpc, queries, statistics, session.Name, begun.Id);
        try
        {
            var result = await work(transaction, cancellationToken);
            var mutations = transaction.TakeMutations();
            // Per commit attempt: recorded as the Commit RPC is sent, so an attempt Spanner aborts (and the
            // runner retries) counts too; attempts whose work failed before committing send nothing and are not.
            SpannerMetrics.RecordCommitMutations(mutations);
            var response = await rpc.CommitAsync(session.Name, begun.Id, mutations, cancellationToken);
            var commitTimestamp = response.CommitTimestamp.ToDateTimeOffset();
            transaction.Committed(commitTimestamp);
            statistics.RecordCommit();
            return (result, commitTimestamp);
        }
        catch (Exception ex)
        {
            transaction.Close();
            if (ex is SpannerException { StatusCode: StatusCode.Aborted })
            {
                statistics.RecordAbort();
            }

            if (ex is not SpannerException { IsSessionNotFound: true })
            {
                await RollbackQuietlyAsync(session.Name, begun.Id);
            }

            throw;
        }
    }

    private void OnRetry(System.Diagnostics.Activity? activity, SpannerException failure, int attempt, TimeSpan delay)
    {
        statistics.RecordRetry();
        SpannerTracing.Retrying(activity, failure.StatusCode.ToString(), attempt, delay);
        SpannerTracing.SetTag(activity, "spanner.aborted_attempts", attempt);
        Log.TransactionAborted(logger, attempt, delay, failure.Detail);
    }

    /// <summary>Releases the attempt's locks now rather than when Spanner times the transaction out.</summary>
    private async Task RollbackQuietlyAsync(string session, ByteString transactionId)
    {
        // Not tied to the caller's token: a canceled caller still should not leave locks behind.
        using var timeout = new CancellationTokenSource(RollbackTimeout);
        try
        {
            await rpc.RollbackAsync(session, transactionId, timeout.Token);
        }
        catch (Exception ex)
        {
            Log.RollbackFailed(logger, ex);
        }
    }
}
