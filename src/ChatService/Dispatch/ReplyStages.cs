using System.Diagnostics;

namespace ChatService.Dispatch;

/// <summary>The points of a reply's first token path whose wall-clock times <see cref="ReplyStages"/> marks, in order.</summary>
public enum ReplyStage
{
    /// <summary>The reply was opened here (its recording commit has returned) and its Accepted event published.</summary>
    Opened,

    /// <summary>The caller's Accepted event was written (the API, alongside the worker's stages below).</summary>
    AcceptedWritten,

    /// <summary>A worker began generating the reply.</summary>
    WorkerStarted,

    /// <summary>The chat's window was read (Redis, or the near cache).</summary>
    WindowRead,

    /// <summary>The reply's definitions are at hand (their change tokens read, and Spanner on a miss).</summary>
    DefinitionsRead,

    /// <summary>The context is complete: pins, memory, triggered lore.</summary>
    ContextLoaded,

    /// <summary>The prompt is assembled.</summary>
    PromptBuilt,

    /// <summary>The router has started a backend attempt (its Started event).</summary>
    AttemptStarted,

    /// <summary>The backend's first text reached the reply.</summary>
    FirstToken,

    /// <summary>The first delta was published to the reply's stream.</summary>
    FirstDeltaPublished,

    /// <summary>The first delta was written to the caller.</summary>
    FirstDeltaWritten,
}

/// <summary>
/// Wall-clock marks of one reply between its recording commit and the first delta written to its caller,
/// recorded as <c>chat.reply.stage.duration</c> once the first delta is out: where the time before the first
/// token goes, waiting included (a CPU profile shows only the work). Off by default (<c>Dispatch:StageTimings</c>):
/// the send bench turns it on. Each stage is the time from the mark before it on its own path: the API's
/// (<see cref="ReplyStage.Opened"/> → <see cref="ReplyStage.AcceptedWritten"/>) or the worker's (the rest).
/// </summary>
public sealed class ReplyStages : Chats.IReplyLoadProgress
{
    private static readonly string[] Names = [.. Enum.GetNames<ReplyStage>().Select(ToSnakeCase)];

    private readonly long[] _marks = new long[Names.Length];
    private int _recorded;

    /// <summary>Marks <paramref name="stage"/> now, unless it was marked already; the first delta written records the reply's stages.</summary>
    public void Mark(ReplyStage stage)
    {
        if (Interlocked.CompareExchange(ref _marks[(int)stage], Stopwatch.GetTimestamp(), 0) != 0 || stage != ReplyStage.FirstDeltaWritten)
        {
            return;
        }

        if (Interlocked.Exchange(ref _recorded, 1) == 0)
        {
            Record();
        }
    }

    /// <summary>The context loader's stages, marked as the reply's.</summary>
    void Chats.IReplyLoadProgress.Reached(Chats.ReplyLoadStage stage) => Mark(stage switch
    {
        Chats.ReplyLoadStage.WindowRead => ReplyStage.WindowRead,
        Chats.ReplyLoadStage.DefinitionsRead => ReplyStage.DefinitionsRead,
        _ => ReplyStage.ContextLoaded,
    });

    private void Record()
    {
        try
        {
            Span(ReplyStage.Opened, ReplyStage.AcceptedWritten);
            Span(ReplyStage.Opened, ReplyStage.WorkerStarted);
            for (var stage = ReplyStage.WindowRead; stage <= ReplyStage.FirstDeltaWritten; stage++)
            {
                Span(stage - 1, stage);
            }

            // What the bench's "TTFT overhead beyond the commit" is made of, besides the backend's own first token and the network.
            Span(ReplyStage.AcceptedWritten, ReplyStage.FirstDeltaWritten, "accepted_to_first_delta");
        }
        catch (Exception)
        {
            // Telemetry never breaks a reply.
        }
    }

    private void Span(ReplyStage from, ReplyStage to, string? name = null)
    {
        long start = Volatile.Read(ref _marks[(int)from]), end = Volatile.Read(ref _marks[(int)to]);
        if (start != 0 && end != 0)
        {
            DispatchMetrics.StageTimed(name ?? Names[(int)to], Stopwatch.GetElapsedTime(start, end));
        }
    }

    private static string ToSnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
