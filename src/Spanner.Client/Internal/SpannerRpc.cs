using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Spanner.Client.Internal;

/// <summary>
/// The Spanner data-plane RPCs with routing headers attached and failures translated to
/// <see cref="SpannerException"/>. Unary calls are retried a few times on transient failures
/// (<see cref="SpannerException.IsTransient"/>: UNAVAILABLE, a reset connection, RESOURCE_EXHAUSTED with RetryInfo):
/// every call made here is safe to repeat (commits and DML of a begun transaction are replay-protected by Spanner).
/// </summary>
internal sealed class SpannerRpc(V1.Spanner.SpannerClient client, string databasePath, TimeProvider time, ILogger logger)
{
    private const int MaxTransientAttempts = 4;
    private static readonly TimeSpan TransientInitialDelay = TimeSpan.FromMilliseconds(50);

    public string DatabasePath => databasePath;

    public async Task<IReadOnlyList<V1.Session>> BatchCreateSessionsAsync(int count, CancellationToken cancellationToken)
    {
        var request = new V1.BatchCreateSessionsRequest { Database = databasePath, SessionCount = count };
        var headers = RoutingHeaders.Create(databasePath, "database", databasePath, routeToLeader: true);
        var response = await UnaryAsync("BatchCreateSessions", o => client.BatchCreateSessionsAsync(request, o), headers, cancellationToken);
        return response.Session;
    }

    public Task DeleteSessionAsync(string session, CancellationToken cancellationToken)
    {
        var request = new V1.DeleteSessionRequest { Name = session };
        var headers = RoutingHeaders.Create(databasePath, "name", session);
        return UnaryAsync("DeleteSession", o => client.DeleteSessionAsync(request, o), headers, cancellationToken);
    }

    public Task<V1.Transaction> BeginReadWriteTransactionAsync(string session, CancellationToken cancellationToken)
    {
        var request = new V1.BeginTransactionRequest
        {
            Session = session,
            Options = new V1.TransactionOptions { ReadWrite = new V1.TransactionOptions.Types.ReadWrite() },
        };
        return UnaryAsync("BeginTransaction", o => client.BeginTransactionAsync(request, o), SessionHeaders(session, true), cancellationToken);
    }

    /// <summary>Begins a read-only transaction; the response carries its read timestamp.</summary>
    public Task<V1.Transaction> BeginReadOnlyTransactionAsync(string session, V1.TransactionOptions.Types.ReadOnly readOnly, CancellationToken cancellationToken)
    {
        var request = new V1.BeginTransactionRequest
        {
            Session = session,
            Options = new V1.TransactionOptions { ReadOnly = readOnly },
        };
        return UnaryAsync("BeginTransaction", o => client.BeginTransactionAsync(request, o), SessionHeaders(session, false), cancellationToken);
    }

    public Task<V1.CommitResponse> CommitAsync(string session, ByteString transactionId, IEnumerable<V1.Mutation> mutations, CancellationToken cancellationToken)
    {
        var request = new V1.CommitRequest { Session = session, TransactionId = transactionId };
        request.Mutations.AddRange(mutations);
        return UnaryAsync("Commit", o => client.CommitAsync(request, o), SessionHeaders(session, true), cancellationToken);
    }

    public Task RollbackAsync(string session, ByteString transactionId, CancellationToken cancellationToken)
    {
        var request = new V1.RollbackRequest { Session = session, TransactionId = transactionId };
        return UnaryAsync("Rollback", o => client.RollbackAsync(request, o), SessionHeaders(session, true), cancellationToken);
    }

    public Task<V1.ResultSet> ExecuteSqlAsync(V1.ExecuteSqlRequest request, bool routeToLeader, CancellationToken cancellationToken) =>
        UnaryAsync("ExecuteSql", o => client.ExecuteSqlAsync(request, o), SessionHeaders(request.Session, routeToLeader), cancellationToken, request.Sql);

    /// <summary>Starts a streaming query; errors surface from the response stream as <see cref="RpcException"/>.</summary>
    public AsyncServerStreamingCall<V1.PartialResultSet> ExecuteStreamingSql(V1.ExecuteSqlRequest request, bool routeToLeader, CancellationToken cancellationToken)
    {
        try
        {
            return client.ExecuteStreamingSql(request, new CallOptions(SessionHeaders(request.Session, routeToLeader), cancellationToken: cancellationToken));
        }
        catch (RpcException ex)
        {
            throw RpcErrors.Translate(ex, cancellationToken);
        }
    }

    private Metadata SessionHeaders(string session, bool routeToLeader) =>
        RoutingHeaders.Create(databasePath, "session", session, routeToLeader);

    private async Task<T> UnaryAsync<T>(
        string method, Func<CallOptions, AsyncUnaryCall<T>> call, Metadata headers, CancellationToken cancellationToken, string? sql = null)
    {
        using var activity = SpannerTracing.StartRpc(method, databasePath, sql);
        var started = time.GetTimestamp();
        var status = StatusCode.OK;
        var delay = TransientInitialDelay;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    using var pending = call(new CallOptions(headers, cancellationToken: cancellationToken));
                    return await pending.ResponseAsync;
                }
                catch (RpcException ex)
                {
                    var error = RpcErrors.Translate(ex, cancellationToken);
                    if (error is not SpannerException { IsTransient: true } transient || attempt >= MaxTransientAttempts || cancellationToken.IsCancellationRequested)
                    {
                        status = ex.StatusCode;
                        throw error;
                    }

                    // The server's RetryInfo, when it sent one, knows better than our backoff.
                    var wait = transient.RetryDelay is { } serverDelay && serverDelay > TimeSpan.Zero ? serverDelay : delay;
                    Log.TransientRetry(logger, method, ex.StatusCode, attempt, wait);
                    SpannerMetrics.RecordRetry();
                    SpannerTracing.Retrying(activity, ex.StatusCode.ToString(), attempt, wait);
                    SpannerTracing.SetTag(activity, "spanner.transient_retries", attempt);
                    await Task.Delay(wait, time, cancellationToken);
                    delay *= 2;
                }
            }
        }
        catch (Exception ex)
        {
            status = status == StatusCode.OK ? StatusCode.Cancelled : status;
            SpannerTracing.Failed(activity, ex);
            throw;
        }
        finally
        {
            SpannerMetrics.RecordRpc(method, status, time.GetElapsedTime(started));
        }
    }
}
