using System.Collections.Concurrent;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

/// <summary>
/// An in-memory stand-in for the Spanner gRPC service, for unit tests of the client's logic around the wire
/// (retries, rollback, routing headers, session handling). Each method has a replaceable handler; every call
/// is recorded with its request and headers.
/// </summary>
internal sealed class FakeSpannerServer : CallInvoker
{
    public const string Database = "projects/p/instances/i/databases/d";

    private readonly ConcurrentDictionary<string, Func<IMessage, object>> _handlers = new();
    private int _sessions;
    private int _transactions;

    public FakeSpannerServer()
    {
        Handle<V1.BatchCreateSessionsRequest>("BatchCreateSessions", request =>
        {
            var response = new V1.BatchCreateSessionsResponse();
            for (var i = 0; i < Math.Min(request.SessionCount, MaxSessionsPerBatch); i++)
            {
                response.Session.Add(new V1.Session { Name = $"{Database}/sessions/s{Interlocked.Increment(ref _sessions)}" });
            }

            return response;
        });
        Handle<V1.BeginTransactionRequest>("BeginTransaction", request => new V1.Transaction
        {
            Id = ByteString.CopyFromUtf8($"tx{Interlocked.Increment(ref _transactions)}"),
            ReadTimestamp = request.Options?.ReadOnly?.ReturnReadTimestamp == true ? Timestamp.FromDateTimeOffset(ReadTimestamp) : null,
        });
        Handle<V1.CommitRequest>("Commit", _ => new V1.CommitResponse { CommitTimestamp = Timestamp.FromDateTimeOffset(CommitTimestamp) });
        Handle<V1.RollbackRequest>("Rollback", _ => new Empty());
        Handle<V1.DeleteSessionRequest>("DeleteSession", _ => new Empty());
        Handle<V1.ExecuteSqlRequest>("ExecuteSql", _ => new V1.ResultSet { Stats = new V1.ResultSetStats { RowCountExact = 1 } });
        Handle<V1.ExecuteSqlRequest>("ExecuteStreamingSql", _ => new[] { SingleInt64Row(1) });
    }

    public int MaxSessionsPerBatch { get; set; } = 100;

    public DateTimeOffset CommitTimestamp { get; set; } = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>What a read-only BeginTransaction that asks for its read timestamp gets.</summary>
    public DateTimeOffset ReadTimestamp { get; set; } = new(2029, 12, 31, 23, 59, 59, TimeSpan.Zero);

    public ConcurrentQueue<(string Method, IMessage Request, Metadata Headers)> Calls { get; } = new();

    public IEnumerable<(IMessage Request, Metadata Headers)> CallsTo(string method) =>
        Calls.Where(c => c.Method == method).Select(c => (c.Request, c.Headers));

    /// <summary>Replaces a method's behaviour: return the response (an array of PartialResultSets for streaming) or throw.</summary>
    public void Handle<TRequest>(string method, Func<TRequest, object> handler)
        where TRequest : IMessage => _handlers[method] = request => handler((TRequest)request);

    public static RpcException Aborted(TimeSpan? retryDelay = null)
    {
        var trailers = new Metadata();
        if (retryDelay is { } delay)
        {
            var status = new Google.Rpc.Status { Code = (int)Code.Aborted, Message = "Transaction was aborted." };
            status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }));
            trailers.Add("grpc-status-details-bin", status.ToByteArray());
        }

        return new RpcException(new Grpc.Core.Status(StatusCode.Aborted, "Transaction was aborted."), trailers);
    }

    public static RpcException SessionNotFound(string session) =>
        new(new Grpc.Core.Status(StatusCode.NotFound, $"Session not found: {session}"));

    public static V1.PartialResultSet SingleInt64Row(long value)
    {
        var rowType = new V1.StructType();
        rowType.Fields.Add(new V1.StructType.Types.Field { Name = "v", Type = new V1.Type { Code = V1.TypeCode.Int64 } });
        var partial = new V1.PartialResultSet { Metadata = new V1.ResultSetMetadata { RowType = rowType } };
        partial.Values.Add(Value.ForString(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return partial;
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var response = Task.Run(() => (TResponse)Invoke(method.Name, (IMessage)request, options.Headers));
        return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Grpc.Core.Status.DefaultSuccess, () => [], () => { });
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var reader = new Reader<TResponse>(() => ((IEnumerable<object>)Invoke(method.Name, (IMessage)request, options.Headers)).Cast<TResponse>());
        return new AsyncServerStreamingCall<TResponse>(reader, Task.FromResult(new Metadata()), () => Grpc.Core.Status.DefaultSuccess, () => [], () => { });
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new NotSupportedException();

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException();

    /// <summary>Records the call and runs its handler; also the entry point of <see cref="FakeSpannerHost"/>.</summary>
    public object Invoke(string method, IMessage request, Metadata? headers)
    {
        Calls.Enqueue((method, request, headers ?? []));
        return _handlers.TryGetValue(method, out var handler)
            ? handler(request)
            : throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, method));
    }

    /// <summary>Yields the handler's messages; an exception thrown while enumerating surfaces from MoveNext, like a failed stream.</summary>
    private sealed class Reader<T>(Func<IEnumerable<T>> produce) : IAsyncStreamReader<T>
    {
        private IEnumerator<T>? _enumerator;

        public T Current => _enumerator!.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _enumerator ??= produce().GetEnumerator();
            return Task.FromResult(_enumerator.MoveNext());
        }
    }
}
