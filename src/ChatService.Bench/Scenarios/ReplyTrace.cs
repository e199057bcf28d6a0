using System.Diagnostics;
using System.Globalization;
using System.Text;
using ChatService.Api.V1;
using Grpc.Core;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// One reply stream as the bench received it: every event's sequence, kind and arrival time on the
/// bench's one clock (<see cref="Stopwatch"/> timestamps), and how the stream ended.
/// </summary>
internal sealed class ReplyTrace
{
    /// <summary>The <see cref="Problem"/> of a stream that had no final event within its time limit.</summary>
    public const string TimedOut = "TimedOut (bench limit)";

    private const int MaxAttempts = 10;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly List<ReplyArrival> _events = [];
    private readonly TaskCompletionSource<ReplyEvent?> _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Guards the delta count and the waits for it, which other threads use while the stream is read.</summary>
    private readonly Lock _deltaGate = new();
    private readonly List<(int Count, TaskCompletionSource<bool> Reached)> _deltaWaits = [];
    private int _deltasSoFar;
    private bool _ended;

    private ReplyTrace()
    {
    }

    /// <summary>When the call was made.</summary>
    public long CallStarted { get; private set; }

    public IReadOnlyList<ReplyArrival> Events => _events;

    /// <summary>The Accepted event of a SendMessage stream, as soon as it arrives; null if the stream ends without one.</summary>
    public Task<ReplyEvent?> Accepted => _accepted.Task;

    /// <summary>The Completed event's turn; null when the stream did not complete.</summary>
    public Turn? CompletedTurn { get; private set; }

    /// <summary>The Failed event that ended the stream (its code and partial turn); null when it did not end with one.</summary>
    public ReplyEvent.Types.Failed? Failure { get; private set; }

    /// <summary>Why the stream did not complete (<c>Failed CODE</c>, a gRPC status, <see cref="TimedOut"/>, or an exception type); null when it did.</summary>
    public string? Problem { get; private set; }

    /// <summary>The message behind <see cref="Problem"/>.</summary>
    public string? ProblemDetail { get; private set; }

    /// <summary>Calls made again after a transient status before the first event.</summary>
    public int Retries { get; private set; }

    public bool Completed => CompletedTurn is not null;

    /// <summary>Delta events received.</summary>
    public int Deltas => _events.Count(e => e.Kind == ReplyEvent.EventOneofCase.Delta);

    /// <summary>When the last event arrived (the call's start when none did).</summary>
    public long LastArrival => _events.Count > 0 ? _events[^1].Timestamp : CallStarted;

    /// <summary>Completes when the stream has ended; read the trace only after.</summary>
    public Task Done { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Makes the call with <paramref name="open"/> and reads it in the background to its final event
    /// (Completed or Failed); <see cref="Done"/> completes then. An RPC error, or no final event within
    /// <paramref name="timeLimit"/>, ends the trace with a problem rather than an exception, unless the
    /// bench itself cancelled. With <paramref name="retryBeforeFirstEvent"/>, a transient status before
    /// any event makes the call again, as the API asks of a SendMessage client (the same request id
    /// records nothing twice).
    /// </summary>
    public static ReplyTrace Start(Func<CancellationToken, AsyncServerStreamingCall<ReplyEvent>> open, TimeSpan timeLimit, bool retryBeforeFirstEvent,
        CancellationToken cancellationToken)
    {
        var trace = new ReplyTrace();
        trace.Done = trace.ReadAsync(open, timeLimit, retryBeforeFirstEvent, cancellationToken);
        return trace;
    }

    private async Task ReadAsync(Func<CancellationToken, AsyncServerStreamingCall<ReplyEvent>> open, TimeSpan timeLimit, bool retryBeforeFirstEvent,
        CancellationToken cancellationToken)
    {
        // Off the caller's thread at once: it goes on to start the other streams of the reply.
        await Task.Yield();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeLimit);
        CallStarted = Stopwatch.GetTimestamp();
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await ReadOnceAsync(open, limit.Token);
                    return;
                }
                catch (RpcException ex) when (retryBeforeFirstEvent && _events.Count == 0 && attempt < MaxAttempts && !limit.IsCancellationRequested
                    && ex.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted)
                {
                    Retries++;
                    await Task.Delay(RetryDelay * attempt, limit.Token);
                }
            }
        }
        catch (Exception) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            EndWith(TimedOut, string.Create(CultureInfo.InvariantCulture, $"no final event within the bench's limit of {timeLimit.TotalSeconds:0} s"));
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            EndWith(ex.StatusCode.ToString(), ex.Status.Detail);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            EndWith(ex.GetType().Name, ex.Message);
        }
        finally
        {
            _accepted.TrySetResult(null);
            EndDeltaWaits();
        }
    }

    /// <summary>
    /// Completes with true once the stream has delivered <paramref name="count"/> delta events (of any
    /// attempt), or with false if it ends before; may be called while the stream is being read.
    /// </summary>
    public Task<bool> DeltasReceived(int count)
    {
        lock (_deltaGate)
        {
            if (_deltasSoFar >= count || _ended)
            {
                return Task.FromResult(_deltasSoFar >= count);
            }

            var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _deltaWaits.Add((count, reached));
            return reached.Task;
        }
    }

    private async Task ReadOnceAsync(Func<CancellationToken, AsyncServerStreamingCall<ReplyEvent>> open, CancellationToken cancellationToken)
    {
        using var call = open(cancellationToken);
        await foreach (var e in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            if (Record(e, Stopwatch.GetTimestamp()))
            {
                return;
            }
        }

        EndWith("DataLoss", "the stream ended without Completed or Failed");
    }

    /// <summary>The text a client shows at the end: the deltas after the last Restarted, concatenated.</summary>
    public string Text()
    {
        var text = new StringBuilder();
        foreach (var e in _events)
        {
            if (e.Kind == ReplyEvent.EventOneofCase.Restarted)
            {
                text.Clear();
            }
            else if (e.Kind == ReplyEvent.EventOneofCase.Delta)
            {
                text.Append(e.Text);
            }
        }

        return text.ToString();
    }

    /// <summary>The sequences received, in order, above <paramref name="afterSequence"/>.</summary>
    public IEnumerable<long> SequencesAfter(long afterSequence) => _events.Select(e => e.Sequence).Where(s => s > afterSequence);

    /// <summary>Arrival time by sequence (the first arrival, should a sequence come twice); built on first use, once the stream has ended.</summary>
    public IReadOnlyDictionary<long, long> ArrivalsBySequence
    {
        get
        {
            if (field is null)
            {
                var arrivals = new Dictionary<long, long>(_events.Count);
                foreach (var e in _events)
                {
                    arrivals.TryAdd(e.Sequence, e.Timestamp);
                }

                field = arrivals;
            }

            return field;
        }
    }

    /// <summary>Keeps one event; true when it is the last one.</summary>
    private bool Record(ReplyEvent e, long timestamp)
    {
        _events.Add(new ReplyArrival(e.Sequence, e.EventCase, timestamp, e.EventCase == ReplyEvent.EventOneofCase.Delta ? e.Delta.Text : null));
        switch (e.EventCase)
        {
            case ReplyEvent.EventOneofCase.Accepted:
                _accepted.TrySetResult(e);
                return false;
            case ReplyEvent.EventOneofCase.Delta:
                CountDelta();
                return false;
            case ReplyEvent.EventOneofCase.Completed:
                CompletedTurn = e.Completed.Turn ?? new Turn();
                return true;
            case ReplyEvent.EventOneofCase.Failed:
                Failure = e.Failed;
                EndWith("Failed " + e.Failed.Code, e.Failed.Reason);
                return true;
            default:
                return false;
        }
    }

    /// <summary>One more delta arrived: completes the waits it satisfies.</summary>
    private void CountDelta()
    {
        lock (_deltaGate)
        {
            _deltasSoFar++;
            for (var i = _deltaWaits.Count - 1; i >= 0; i--)
            {
                if (_deltaWaits[i].Count <= _deltasSoFar)
                {
                    _deltaWaits[i].Reached.TrySetResult(true);
                    _deltaWaits.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>The stream has ended: the deltas still awaited will not come.</summary>
    private void EndDeltaWaits()
    {
        lock (_deltaGate)
        {
            _ended = true;
            foreach (var (_, reached) in _deltaWaits)
            {
                reached.TrySetResult(false);
            }

            _deltaWaits.Clear();
        }
    }

    private void EndWith(string problem, string detail)
    {
        Problem = problem;
        ProblemDetail = detail;
    }
}

/// <summary>One event of a traced stream: its sequence, kind, arrival time and (for a delta) text.</summary>
internal readonly record struct ReplyArrival(long Sequence, ReplyEvent.EventOneofCase Kind, long Timestamp, string? Text);
