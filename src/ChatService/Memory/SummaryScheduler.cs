using System.Collections.Concurrent;
using System.Threading.Channels;
using ChatService.Chats;
using ChatService.Inference;
using Microsoft.Extensions.Options;

namespace ChatService.Memory;

/// <summary>
/// Takes summary triggers off the reply path and runs them in the background: <see cref="Consider"/> only
/// decides (<see cref="SummaryTrigger"/>) and queues, never waits and never throws, so a reply's commits
/// never wait for a summary and its failures never reach a reply. A chat has at most one job queued or
/// running on this replica; across replicas, the chat's summary lease in Redis keeps one at a time.
/// </summary>
public sealed partial class SummaryScheduler : BackgroundService
{
    private readonly Channel<(string ChatId, long ThroughSeq, long KnownGeneration)> _queue;
    private readonly ConcurrentDictionary<string, byte> _pending = new();
    private readonly SummaryJobRunner _runner;
    private readonly SummaryOptions _options;
    private readonly ILogger _logger;
    private int _running;

    public SummaryScheduler(SummaryJobRunner runner, IOptions<SummaryOptions> options, ILogger<SummaryScheduler> logger)
    {
        _runner = runner;
        _options = options.Value;
        _logger = logger;
        _queue = Channel.CreateBounded<(string, long, long)>(new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Jobs queued or running on this replica (for tests and shutdown).</summary>
    public int InFlight => _pending.Count;

    private long _considered;

    /// <summary>
    /// How many replies this replica has passed to <see cref="Consider"/>. A reply's final event reaches its
    /// caller just before, so tests wait on this count before <see cref="IdleAsync(TimeSpan, long, CancellationToken)"/>.
    /// </summary>
    public long Considered => Interlocked.Read(ref _considered);

    /// <summary>
    /// After a reply was generated from <paramref name="context"/> with <paramref name="prompt"/>: queues the
    /// chat's summary job when the turns that fell out of the prompt (by the window's turn count or by the
    /// token budget, whichever dropped more) make one due; a turn dropped only by this prompt's one-offs (its
    /// newest message, the lore its messages triggered; not constant lore) does not count (<see cref="SummaryTrigger.OldestToKeep"/>). Costs no I/O.
    /// </summary>
    public void Consider(ReplyContext context, AssembledPrompt prompt)
    {
        try
        {
            if (!_options.Enabled)
            {
                return;
            }

            var window = context.WindowOldestFirst;
            var oldestKept = SummaryTrigger.OldestToKeep(
                SummaryTrigger.OldestKept(prompt.OldestRecentSeq, window.Count == 0 ? 0 : window[^1].Seq), prompt.HistoryCeilingSeq);
            // Counted from the chat's stored summary, not the one this prompt shows: a regenerated old reply may
            // leave it out (WithoutOverlap, ToPrompt), and its span is covered all the same.
            var summarized = Math.Max(context.Memory.SummaryThroughSeq, context.Memory.StoredSummaryThroughSeq);
            var due = SummaryTrigger.DueThrough(oldestKept, summarized, _options.EveryTurns, _options.MaxTurnsPerJob);
            if (due is { } through)
            {
                // The window's summary generation goes along: if a store of the span landed after this window
                // was read (the previous job finished meanwhile), the lease refuses the job without Spanner.
                Enqueue(context.Reply.ChatId, through, context.Memory.SummaryGeneration);
            }
        }
        finally
        {
            // Counted after the job (if any) is pending, so a waiter that sees the count also sees the job.
            Interlocked.Increment(ref _considered);
        }
    }

    /// <summary>
    /// Queues the chat's job for the span through <paramref name="throughSeq"/> unless one is queued or running
    /// here already. <paramref name="knownGeneration"/>: the summary generation of the triggering window
    /// (<see cref="ChatMemory.SummaryGeneration"/>), <see cref="long.MaxValue"/> for none (the sweep's jobs).
    /// </summary>
    public bool Enqueue(string chatId, long throughSeq, long knownGeneration = long.MaxValue)
    {
        if (!_pending.TryAdd(chatId, 0))
        {
            return false;
        }

        if (!_queue.Writer.TryWrite((chatId, throughSeq, knownGeneration)))
        {
            _pending.TryRemove(chatId, out _);
            SummaryMetrics.TriggerDropped();
            return false;
        }

        return true;
    }

    /// <summary>Waits until no job is queued or running on this replica (tests).</summary>
    public Task IdleAsync(TimeSpan bound, CancellationToken cancellationToken) => IdleAsync(bound, 0, cancellationToken);

    /// <summary>
    /// Waits until at least <paramref name="considered"/> replies were considered (see <see cref="Considered"/>)
    /// and then no job is queued or running on this replica (tests), all within <paramref name="bound"/>.
    /// </summary>
    public async Task IdleAsync(TimeSpan bound, long considered, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + bound;
        while ((Considered < considered || _pending.Count > 0 || Volatile.Read(ref _running) > 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25, cancellationToken);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.MaxConcurrentJobs).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (chatId, through, generation) in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                Interlocked.Increment(ref _running);
                try
                {
                    await _runner.RunAsync(chatId, through, stoppingToken, generation);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Storage failed (the read or the commit, its outcome maybe unknown): the runner gave the
                    // lease back and left the job listed, due after Summary:RetryDelay, for any replica's sweep.
                    SummaryMetrics.Run("error");
                    Log.RunFailed(_logger, chatId, through, ex);
                }
                finally
                {
                    _pending.TryRemove(chatId, out _);
                    Interlocked.Decrement(ref _running);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: a job cut short gave its lease back and stays listed; any replica's sweep redoes it after Summary:RetryDelay.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(3803, LogLevel.Warning, "Summary job of chat {ChatId} through turn {ThroughSeq} failed; the sweep retries it after Summary:RetryDelay (up to Summary:MaxAttempts).")]
        public static partial void RunFailed(ILogger logger, string chatId, long throughSeq, Exception exception);
    }
}
