using System.Diagnostics;
using System.Globalization;
using ChatService.Api.V1;
using Grpc.Core;

namespace ChatService.Tests.Dispatch;

/// <summary>One event of a reply stream and when it reached the test (a <see cref="Stopwatch"/> timestamp).</summary>
internal sealed record Arrival(ReplyEvent Event, long At);

/// <summary>
/// A reply stream (SendMessage or StreamReply) read in the background from the moment it is
/// opened, each event kept with the moment it arrived. Tests wait for events with a bound,
/// compare streams event by event, and see whether events came over time or all at once.
/// </summary>
internal sealed class ReplyRecording : IAsyncDisposable
{
    private readonly AsyncServerStreamingCall<ReplyEvent> _call;
    private readonly Lock _gate = new();
    private readonly List<Arrival> _arrivals = [];
    private readonly Task _reading;
    private TaskCompletionSource _changed = NewSignal();
    private Exception? _error;
    private bool _ended;

    private ReplyRecording(string name, AsyncServerStreamingCall<ReplyEvent> call, CancellationToken cancellationToken)
    {
        Name = name;
        _call = call;
        _reading = Task.Run(() => ReadAsync(cancellationToken), CancellationToken.None);
    }

    /// <summary>Which stream this is, for failure messages (e.g. "B's StreamReply after 5").</summary>
    public string Name { get; }

    /// <summary>Every event so far, in arrival order.</summary>
    public IReadOnlyList<Arrival> Arrivals
    {
        get
        {
            lock (_gate)
            {
                return [.. _arrivals];
            }
        }
    }

    public IReadOnlyList<ReplyEvent> Events => [.. Arrivals.Select(a => a.Event)];

    /// <summary>How the stream ended when it did not end OK (an <see cref="RpcException"/> as a rule); null while open or after an OK end.</summary>
    public Exception? Error
    {
        get
        {
            lock (_gate)
            {
                return _error;
            }
        }
    }

    /// <summary>Starts reading <paramref name="call"/> at once; disposing the recording cancels the call.</summary>
    public static ReplyRecording Start(string name, AsyncServerStreamingCall<ReplyEvent> call, CancellationToken cancellationToken) =>
        new(name, call, cancellationToken);

    /// <summary>
    /// The <paramref name="count"/>-th event that matches, waiting for it up to <paramref name="timeout"/>;
    /// fails the test (with the events so far and <paramref name="diagnostics"/>) on timeout or when the stream ends without it.
    /// </summary>
    public async Task<Arrival> WaitForAsync(string what, Func<ReplyEvent, bool> match, TimeSpan timeout, Func<string> diagnostics, int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Arrival? found;
            bool ended;
            Task changed;
            lock (_gate)
            {
                found = _arrivals.Where(a => match(a.Event)).Skip(count - 1).FirstOrDefault();
                ended = _ended;
                changed = _changed.Task;
            }

            if (found is not null)
            {
                return found;
            }

            if (ended)
            {
                Assert.Fail($"{Name} ended ({EndDescription()}) before {what}. It sent:\n{Describe(Events)}\n{diagnostics()}");
            }

            try
            {
                var remaining = timeout - clock.Elapsed;
                await changed.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, TestContext.Current.CancellationToken);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"{Name}: no {what} within {Seconds(timeout)}. It sent:\n{Describe(Events)}\n{diagnostics()}");
            }
        }
    }

    /// <summary>
    /// Every event, once the stream has ended, waiting up to <paramref name="timeout"/>. Fails the
    /// test on timeout, and when the stream ended with an error unless <paramref name="allowError"/>.
    /// </summary>
    public async Task<IReadOnlyList<Arrival>> WaitForEndAsync(TimeSpan timeout, Func<string> diagnostics, bool allowError = false)
    {
        try
        {
            await _reading.WaitAsync(timeout, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{Name} did not end within {Seconds(timeout)}. It sent:\n{Describe(Events)}\n{diagnostics()}");
        }

        if (!allowError && Error is { } error)
        {
            Assert.Fail($"{Name} ended with an error: {error.Message}. It sent:\n{Describe(Events)}\n{diagnostics()}");
        }

        return Arrivals;
    }

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await _reading;
    }

    /// <summary>An event as one line: sequence, kind and what a follower must see the same (text, state, code, attempt).</summary>
    public static string Describe(ReplyEvent e) => e.EventCase switch
    {
        ReplyEvent.EventOneofCase.Delta => Line(e, $"delta \"{e.Delta.Text}\""),
        ReplyEvent.EventOneofCase.Completed => Line(e, $"completed {e.Completed.Turn?.State} \"{e.Completed.Turn?.Text}\""),
        ReplyEvent.EventOneofCase.Failed => Line(e, $"failed {e.Failed.Code} {e.Failed.Turn?.State} \"{e.Failed.Turn?.Text}\""),
        ReplyEvent.EventOneofCase.Restarted => Line(e, $"restarted attempt {e.Restarted.Attempt} ({e.Restarted.Reason})"),
        // Accepted's payload differs by call (SendMessage's names the user turn); Started's is the speaker.
        _ => Line(e, e.EventCase.ToString().ToLowerInvariant()),
    };

    /// <summary>The events one per line, indented.</summary>
    public static string Describe(IEnumerable<ReplyEvent> events)
    {
        var lines = events.Select(e => "  " + Describe(e)).ToList();
        return lines.Count == 0 ? "  (nothing)" : string.Join('\n', lines);
    }

    /// <summary>
    /// How many separate moments the arrivals came at: an arrival starts a new moment when it comes
    /// at least <paramref name="gap"/> after the previous moment began. One when everything came at once.
    /// </summary>
    public static int Moments(IEnumerable<Arrival> arrivals, TimeSpan gap)
    {
        var moments = 0;
        long start = 0;
        foreach (var arrival in arrivals.OrderBy(a => a.At))
        {
            if (moments == 0 || Stopwatch.GetElapsedTime(start, arrival.At) >= gap)
            {
                moments++;
                start = arrival.At;
            }
        }

        return moments;
    }

    private static string Line(ReplyEvent e, string what) =>
        string.Create(CultureInfo.InvariantCulture, $"#{e.Sequence} {what}");

    private static string Seconds(TimeSpan span) => string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.###} s");

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string EndDescription() => Error switch
    {
        null => "OK",
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        var other => other.Message,
    };

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(cancellationToken))
            {
                var arrival = new Arrival(_call.ResponseStream.Current, Stopwatch.GetTimestamp());
                Changed(() => _arrivals.Add(arrival));
            }
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            Changed(() => _error = ex);
        }
        finally
        {
            Changed(() => _ended = true);
        }
    }

    private void Changed(Action change)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            change();
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }
}
