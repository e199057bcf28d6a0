using System.Collections.Concurrent;
using ChatService.Chats;
using Microsoft.Extensions.Options;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// Runs the chat-count folds (<see cref="CharacterChatCounts.FoldAsync"/>) that CreateChat asks for,
/// after its commit, on this replica, best effort: each character is folded in a transaction of its
/// own, at most once per <see cref="ChatOptions.ChatCountFoldInterval"/> (the requests that arrive
/// meanwhile are folded together when it ends, so a burst of chats with one character costs one fold),
/// and at most <see cref="MaxConcurrentFolds"/> at a time. A fold that fails is tried again twice,
/// then only logged: the counter rows still hold every chat, and the character's next fold point
/// folds them all (a fold is safe to run late or twice). When the service stops, the folds still
/// waiting run at once, for up to <see cref="DrainOnStop"/>; only a replica killed outright loses
/// them (until the character's next fold point).
/// </summary>
internal sealed partial class ChatCountFolder(
    SpannerGateway spanner,
    IOptions<ChatOptions> options,
    TimeProvider timeProvider,
    ILogger<ChatCountFolder> logger) : IHostedService, IDisposable
{
    /// <summary>How long a stopping replica gives the waiting folds, run at once, before it abandons them.</summary>
    internal static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(5);

    /// <summary>Folds running at once on a replica: enough for ≈ 500 folds/s at a few ms each.</summary>
    private const int MaxConcurrentFolds = 16;

    /// <summary>Characters waiting for a fold on this replica; more are dropped (their next fold point counts them).</summary>
    private const int MaxWaiting = 100_000;

    /// <summary>Tries of one fold before it is left to the character's next fold point.</summary>
    private const int MaxAttempts = 3;

    private readonly ConcurrentDictionary<string, byte> _waiting = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _running = new(MaxConcurrentFolds);
    private readonly CancellationTokenSource _flushing = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _inFlight;

    /// <summary>Folds scheduled or running on this replica (tests wait for 0).</summary>
    internal int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Folds these characters once the interval has passed, unless a fold of them is already waiting.</summary>
    public void Schedule(IEnumerable<string> characterIds)
    {
        foreach (var id in characterIds)
        {
            if (_waiting.Count >= MaxWaiting)
            {
                Log.FoldDropped(logger, id);
                continue;
            }

            Enqueue(id, attempt: 1);
        }
    }

    private void Enqueue(string characterId, int attempt)
    {
        if (_waiting.TryAdd(characterId, 0))
        {
            Interlocked.Increment(ref _inFlight);
            _ = FoldLaterAsync(characterId, attempt);
        }
    }

    private async Task FoldLaterAsync(string characterId, int attempt)
    {
        var stopping = _stopping.Token;
        try
        {
            try
            {
                await Task.Delay(options.Value.ChatCountFoldInterval, timeProvider, _flushing.Token);
            }
            catch (OperationCanceledException) when (_flushing.IsCancellationRequested)
            {
                // The service is stopping: fold now rather than lose it.
            }

            // Taken off before the fold reads: a chat committed after this asks for a fold of its own.
            _waiting.TryRemove(characterId, out _);
            await _running.WaitAsync(stopping);
            try
            {
                await CharacterChatCounts.FoldAsync(spanner, characterId, stopping);
            }
            finally
            {
                _running.Release();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (attempt < MaxAttempts)
        {
            // Contention or a transient error: try again after another interval (unless a fold is waiting already).
            Log.FoldRetried(logger, characterId, attempt, ex.Message);
            Enqueue(characterId, attempt + 1);
        }
        catch (Exception ex)
        {
            Log.FoldFailed(logger, characterId, ex);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs the waiting folds at once and waits for them, up to <see cref="DrainOnStop"/> (or the host's shutdown timeout).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _flushing.CancelAsync();
        // Timed on the system clock: a stopping host should not depend on a test's fake time.
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (InFlight > 0 && System.Diagnostics.Stopwatch.GetElapsedTime(started) < DrainOnStop && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(20, CancellationToken.None);
        }

        if (InFlight > 0)
        {
            Log.FoldsAbandoned(logger, InFlight);
        }

        await _stopping.CancelAsync();
    }

    public void Dispose()
    {
        // Not disposed: folds still waiting read its token once more and end as cancelled.
        _stopping.Cancel();
    }

    private static partial class Log
    {
        [LoggerMessage(1101, LogLevel.Warning, "Folding the chat count of character {CharacterId} failed; its next fold point folds it.")]
        public static partial void FoldFailed(ILogger logger, string characterId, Exception exception);

        [LoggerMessage(1103, LogLevel.Information, "Folding the chat count of character {CharacterId} failed (attempt {Attempt}: {Message}); trying again.")]
        public static partial void FoldRetried(ILogger logger, string characterId, int attempt, string message);

        [LoggerMessage(1102, LogLevel.Warning, "Too many chat-count folds waiting; character {CharacterId} is folded at its next fold point.")]
        public static partial void FoldDropped(ILogger logger, string characterId);

        [LoggerMessage(1104, LogLevel.Warning, "Stopping with {Count} chat-count fold(s) unfinished; each character's next fold point folds them.")]
        public static partial void FoldsAbandoned(ILogger logger, int count);
    }
}
