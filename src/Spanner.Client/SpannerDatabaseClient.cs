using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>
/// Reads and writes one Spanner database over the public gRPC API with a session pool. Thread-safe; create one
/// per database and process and dispose it on shutdown (which deletes its sessions). As an
/// <see cref="ISpannerReader"/> every query is a strong single-use read; <see cref="BeginSnapshotAsync"/> gives
/// reads that agree with each other, <see cref="RunInTransactionAsync{T}"/> reads and writes atomically.
/// </summary>
public sealed partial class SpannerDatabaseClient : ISpannerReader, IAsyncDisposable
{
    private readonly GrpcChannel? _channel;
    private readonly SpannerClientOptions _options;
    private readonly ILogger _logger;
    private readonly SessionPool _pool;
    private readonly QueryStreamer _queries;
    private readonly RetryPolicy _retryPolicy;
    private readonly TransactionRunner _transactions;
    private readonly TimeProvider _time;

    private SpannerDatabaseClient(SpannerClientOptions options, CallInvoker invoker, GrpcChannel? channel, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
    {
        _options = options;
        _channel = channel;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Spanner.Client");
        var time = timeProvider ?? TimeProvider.System;
        _time = time;
        var rpc = new SpannerRpc(new V1.Spanner.SpannerClient(invoker), options.DatabasePath, time, _logger);
        _pool = new SessionPool(rpc, options, time, _logger, Statistics);
        _queries = new QueryStreamer(rpc, Statistics, time);
        _retryPolicy = new RetryPolicy(options.RetryInitialDelay, options.RetryMaxDelay, options.TransactionTimeout, time);
        _transactions = new TransactionRunner(rpc, _pool, _queries, _retryPolicy, Statistics, _logger);
        Rpc = rpc;
    }

    /// <summary>The database resource name: projects/P/instances/I/databases/D.</summary>
    public string DatabasePath => _options.DatabasePath;

    /// <summary>Live counters of this client.</summary>
    public SpannerClientStatistics Statistics { get; } = new();

    internal SessionPool Pool => _pool;

    internal SpannerRpc Rpc { get; }

    /// <summary>
    /// Creates a client with its own gRPC channel: plaintext to <see cref="SpannerClientOptions.EmulatorHost"/> when
    /// set, else TLS to the endpoint with OAuth2 tokens (the given credential, or ADC loaded on first use). Does no I/O;
    /// call <see cref="WarmUpAsync"/> to create sessions up front.
    /// </summary>
    public static SpannerDatabaseClient Create(SpannerClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var time = timeProvider ?? TimeProvider.System;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Spanner.Client");
        var channel = ChannelFactory.Create(options, ChannelFactory.DataScope, time, logger);
        return new SpannerDatabaseClient(options, channel.CreateCallInvoker(), channel, loggerFactory, time);
    }

    /// <summary>A client over a given call invoker (tests use a fake server).</summary>
    internal static SpannerDatabaseClient Create(SpannerClientOptions options, CallInvoker invoker, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        options.Validate();
        return new SpannerDatabaseClient(options, invoker, channel: null, loggerFactory, timeProvider);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a read-write transaction and commits it with the mutations the work buffered.
    /// When Spanner aborts the transaction (in a query, DML or the commit) the attempt is rolled back and the work
    /// runs again with a fresh transaction after a backoff, until <see cref="SpannerClientOptions.TransactionTimeout"/>;
    /// so the work must be safe to run more than once and should only touch the database through the transaction.
    /// Other failures roll back and propagate.
    /// </summary>
    /// <returns>The result of the work's successful run.</returns>
    /// <exception cref="SpannerException">A Spanner call failed, or the transaction kept aborting until the timeout (ABORTED).</exception>
    public async Task<T> RunInTransactionAsync<T>(Func<SpannerTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default) =>
        (await RunInTransactionWithCommitTimestampAsync(work, cancellationToken)).Result;

    /// <summary>
    /// Like <see cref="RunInTransactionAsync{T}"/>, also returning the timestamp of the commit that made the work
    /// durable: the value <see cref="SpannerCommitTimestamp"/> placeholders were written as.
    /// </summary>
    public Task<(T Result, DateTimeOffset CommitTimestamp)> RunInTransactionWithCommitTimestampAsync<T>(
        Func<SpannerTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _transactions.RunAsync(work, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/>, which produces no result, in a read-write transaction and commits it; retried
    /// like <see cref="RunInTransactionAsync{T}"/>.
    /// </summary>
    /// <returns>The commit timestamp: the value <see cref="SpannerCommitTimestamp"/> placeholders were written as.</returns>
    /// <exception cref="SpannerException">A Spanner call failed, or the transaction kept aborting until the timeout (ABORTED).</exception>
    public async Task<DateTimeOffset> RunInTransactionAsync(Func<SpannerTransaction, CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var (_, commitTimestamp) = await _transactions.RunAsync(
            async (transaction, token) =>
            {
                await work(transaction, token);
                return true;
            },
            cancellationToken);
        return commitTimestamp;
    }

    /// <summary>Commits <paramref name="mutations"/> atomically in one read-write transaction, retried like <see cref="RunInTransactionAsync{T}"/>.</summary>
    /// <returns>The commit timestamp.</returns>
    public Task<DateTimeOffset> WriteAsync(IEnumerable<SpannerMutation> mutations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutations);
        var list = mutations.ToList();
        return RunInTransactionAsync(
            (transaction, _) =>
            {
                foreach (var mutation in list)
                {
                    transaction.BufferWrite(mutation);
                }

                return Task.CompletedTask;
            },
            cancellationToken);
    }

    /// <summary>
    /// Creates <see cref="SpannerClientOptions.MinSessions"/> sessions with BatchCreateSessions (pinging one if the
    /// pool is already warm), so it throws when the database is unreachable; health checks can use it.
    /// </summary>
    public Task WarmUpAsync(CancellationToken cancellationToken = default) => _pool.WarmUpAsync(cancellationToken);

    /// <summary>Deletes the pooled sessions (best effort, a few seconds at most) and closes the channel.</summary>
    public async ValueTask DisposeAsync()
    {
        await _pool.DisposeAsync();
        _channel?.Dispose();
    }
}
