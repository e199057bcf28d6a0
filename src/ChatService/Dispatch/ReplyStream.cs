using System.Runtime.CompilerServices;
using ChatService.Chats;

namespace ChatService.Dispatch;

/// <summary>
/// The event log of one reply as this replica holds it, read by any number of subscribers from
/// any offset. On the replica generating the reply the owner publishes to it; on the others it
/// mirrors the reply's log in Redis. Either way an event's <see cref="ReplyUpdate.Sequence"/> is
/// the one every replica serves. It ends with a final event, or is abandoned without one (the
/// reply was handed over, or this replica is stopping): readers then follow it elsewhere.
/// </summary>
public sealed class ReplyStream(ReplyKey key)
{
    private readonly Lock _gate = new();
    private readonly List<ReplyUpdate> _events = [];
    private TaskCompletionSource _changed = NewSignal();
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReplyKey Key { get; } = key;

    /// <summary>True once the log has a final event or was abandoned.</summary>
    public bool IsEnded { get; private set; }

    /// <summary>True once the log has a final event.</summary>
    public bool IsFinished { get; private set; }

    /// <summary>Completes when the log ends.</summary>
    public Task Ended => _ended.Task;

    /// <summary>The sequence of the newest event; 0 while there is none.</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _events.Count == 0 ? 0 : _events[^1].Sequence;
            }
        }
    }

    /// <summary>Appends an event numbered after the newest one.</summary>
    public ReplyUpdate Publish(ReplyUpdateKind kind, ChatTurn? turn = null, string? text = null, string? characterId = null,
        ReplyFailureCode? failureCode = null, string? failureReason = null, int attempt = 0)
    {
        lock (_gate)
        {
            var update = new ReplyUpdate(NextSequenceLocked(), kind, turn, text, characterId, failureCode, failureReason, attempt);
            AppendLocked(update);
            return update;
        }
    }

    /// <summary>
    /// Appends a Restarted event at <paramref name="sequence"/>, which may jump ahead: a new attempt
    /// numbers its events in a range of its own (see <see cref="ReplyUpdate.AttemptStart"/>), so no
    /// event a caller may have seen from an earlier attempt shares a number with one of its own.
    /// </summary>
    public ReplyUpdate PublishRestart(long sequence, int attempt, string reason)
    {
        lock (_gate)
        {
            var update = new ReplyUpdate(Math.Max(sequence, NextSequenceLocked()), ReplyUpdateKind.Restarted, Text: reason, Attempt: attempt);
            AppendLocked(update);
            return update;
        }
    }

    /// <summary>
    /// Appends events numbered elsewhere (a mirror of the reply's log, or the log a new attempt
    /// continues). Events at or before the newest one are skipped; a gap is refused, except before
    /// a Restarted event (a new attempt's range).
    /// </summary>
    /// <returns>How many were appended.</returns>
    public int Append(IEnumerable<ReplyUpdate> updates)
    {
        var appended = 0;
        lock (_gate)
        {
            foreach (var update in updates)
            {
                if (_events.Count > 0 && update.Sequence <= _events[^1].Sequence)
                {
                    continue;
                }

                if (_events.Count > 0 && update.Sequence != _events[^1].Sequence + 1 && update.Kind != ReplyUpdateKind.Restarted)
                {
                    throw new InvalidOperationException($"reply {Key}: event {update.Sequence} does not follow {_events[^1].Sequence}");
                }

                AppendLocked(update);
                appended++;
                if (IsEnded)
                {
                    break;
                }
            }
        }

        return appended;
    }

    /// <summary>Events after <paramref name="afterSequence"/> that the log holds now, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<ReplyUpdate> Snapshot(long afterSequence, int max = int.MaxValue)
    {
        lock (_gate)
        {
            var from = IndexAfterLocked(afterSequence);
            return from >= _events.Count ? [] : _events.GetRange(from, Math.Min(max, _events.Count - from));
        }
    }

    /// <summary>Ends the log without a final event: the reply goes on (or is settled) elsewhere.</summary>
    public void Abandon()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (IsEnded)
            {
                return;
            }

            IsEnded = true;
            changed = _changed;
        }

        changed.TrySetResult();
        _ended.TrySetResult();
    }

    /// <summary>Completes when an event is appended after <paramref name="afterSequence"/> or the log ends.</summary>
    public Task WhenChangedAfter(long afterSequence)
    {
        lock (_gate)
        {
            return IsEnded || (_events.Count > 0 && _events[^1].Sequence > afterSequence) ? Task.CompletedTask : _changed.Task;
        }
    }

    /// <summary>
    /// Events after <paramref name="afterSequence"/>, live until the log ends, as they are there:
    /// all the events already held in one batch, then each batch appended while waiting.
    /// </summary>
    public async IAsyncEnumerable<ReplyUpdate[]> ReadBatchesAsync(long afterSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var next = afterSequence;
        while (true)
        {
            ReplyUpdate[] batch;
            Task changed;
            bool ended;
            lock (_gate)
            {
                var from = IndexAfterLocked(next);
                batch = from < _events.Count ? _events.GetRange(from, _events.Count - from).ToArray() : [];
                changed = _changed.Task;
                ended = IsEnded;
            }

            if (batch.Length > 0)
            {
                next = batch[^1].Sequence;
                yield return batch;
            }

            if (ended)
            {
                yield break;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    private long NextSequenceLocked() => _events.Count == 0 ? 1 : _events[^1].Sequence + 1;

    /// <summary>The index of the first event numbered after <paramref name="afterSequence"/> (sequences increase, with jumps only at restarts).</summary>
    private int IndexAfterLocked(long afterSequence)
    {
        int lo = 0, hi = _events.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_events[mid].Sequence <= afterSequence)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private void AppendLocked(ReplyUpdate update)
    {
        if (IsEnded)
        {
            throw new InvalidOperationException($"reply {Key} has already ended");
        }

        _events.Add(update);
        IsEnded = IsFinished = update.IsFinal;
        var changed = _changed;
        _changed = NewSignal();
        changed.TrySetResult();
        if (update.IsFinal)
        {
            _ended.TrySetResult();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
