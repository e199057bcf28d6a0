using System.Text;
using ChatService.Moderation;

namespace ChatService.Dispatch;

/// <summary>
/// Moderation of one reply while it is generated: every <see cref="ModerationGate.ReplyWindowChars"/>
/// characters of new text, that new text (with a short overlap before it) is checked (one check at a time, off the stream: deltas
/// keep flowing meanwhile, so a check costs the caller no latency); a check that blocks stops the
/// generation through <see cref="Stop"/>. <see cref="FinishAsync"/> then checks the final text whole,
/// unless a window check already covered all of it. Used by one generation at a time.
/// </summary>
internal sealed class ReplyScreen : IDisposable
{
    private readonly ModerationGate _gate;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _abandon;
    private Task? _inFlight;
    /// <summary>The length of the text the last window check was started on (its verdict may not have come).</summary>
    private int _startedLength;

    /// <summary>The length of text a real verdict covered: an outage covers nothing, so the final check still runs.</summary>
    private int _checkedLength;
    private ReplyScreenResult? _blocked;

    /// <param name="generation">The generation's token: the stop is linked to it.</param>
    /// <param name="abandon">Shutdown giving up on the reply: checks stop waiting then.</param>
    public ReplyScreen(ModerationGate gate, CancellationToken generation, CancellationToken abandon)
    {
        _gate = gate;
        _abandon = abandon;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(generation);
    }

    /// <summary>What the model call runs under: the generation's token, cancelled too when a check blocks the reply.</summary>
    public CancellationToken Stop => _stop.Token;

    /// <summary>True once a check blocked the reply (the generation is being stopped).</summary>
    public bool Blocked => Volatile.Read(ref _blocked) is not null;

    /// <summary>Called after each delta: starts a check of the text so far when a window's worth is new and none is running.</summary>
    public void Observe(StringBuilder text)
    {
        var window = _gate.ReplyWindowChars;
        if (window <= 0 || Blocked || _inFlight is { IsCompleted: false } || text.Length - _startedLength < window)
        {
            return;
        }

        // Only the new text and an overlap before it (a flagged phrase split by the window's edge is
        // still seen whole): each check's input is bounded, not the whole reply so far.
        var from = Math.Max(0, _startedLength - Overlap(window));
        var end = text.Length;
        _startedLength = end;
        _inFlight = CheckWindowAsync(text.ToString(from, end - from), from, end);
    }

    /// <summary>
    /// The verdict on the reply as it ends with <paramref name="finalText"/>: a block found on the
    /// stream, else the final text's check (skipped when empty, or when a window check covered it all).
    /// </summary>
    public async Task<ReplyScreenResult> FinishAsync(string finalText)
    {
        if (_inFlight is not null)
        {
            await _inFlight;
        }

        if (Volatile.Read(ref _blocked) is { } blocked)
        {
            return blocked;
        }

        if (finalText.Length == 0 || _checkedLength == finalText.Length)
        {
            return ReplyScreenResult.Clean;
        }

        return await _gate.CheckReplyAsync(finalText, _abandon);
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>How much already-checked text a window check repeats before its new text: a quarter of the window, at most 200 characters.</summary>
    internal static int Overlap(int window) => Math.Min(200, window / 4);

    private async Task CheckWindowAsync(string window, int from, int end)
    {
        try
        {
            var result = await _gate.CheckReplyAsync(window, _abandon);
            if (result.Checked && from == 0)
            {
                // Only a window from the first character covers the whole reply so far.
                _checkedLength = end;
            }

            if (result.Blocks)
            {
                Volatile.Write(ref _blocked, result);
                try
                {
                    _stop.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // The generation is over already; FinishAsync reads the verdict.
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutdown: the reply is handed over, not settled.
        }
    }
}
