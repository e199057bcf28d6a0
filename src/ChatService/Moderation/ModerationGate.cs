using ChatService.Chats;
using Microsoft.Extensions.Options;

namespace ChatService.Moderation;

/// <summary>What a reply check concluded, after the outage policy.</summary>
public sealed record ReplyScreenResult(bool Flagged, string? Category, bool Withheld)
{
    public static readonly ReplyScreenResult Clean = new(false, null, false);

    /// <summary>Passed unchecked: the moderator did not answer and the policy is fail-open.</summary>
    public static readonly ReplyScreenResult Unchecked = new(false, null, false) { Checked = false };

    /// <summary>False when no verdict was had (an outage): the text is not covered by a check.</summary>
    public bool Checked { get; init; } = true;

    /// <summary>The reply must not be shown: flagged, or unchecked under a fail-closed policy.</summary>
    public bool Blocks => Flagged || Withheld;
}

/// <summary>
/// The moderation step as the rest of the service sees it: the configured <see cref="IModerator"/>
/// behind a time-out, the outage policy, the metrics and the logs. User messages are checked before
/// anything is recorded (a flagged one is refused, nothing written); replies by
/// <see cref="Dispatch.ReplyScreen"/>, on the stream and whole at the end.
/// </summary>
public sealed partial class ModerationGate(IModerator moderator, IOptions<ModerationOptions> options, ILogger<ModerationGate> logger)
{
    /// <summary>The retry hint of a message refused because moderation is down (fail-closed).</summary>
    private static readonly TimeSpan OutageRetryAfter = TimeSpan.FromSeconds(2);

    private readonly ModerationOptions _options = options.Value;

    /// <summary>Whether replies are checked at all.</summary>
    public bool ScreensReplies => _options.Enabled && _options.Replies;

    /// <summary>Whether user texts (messages, edits) are sent to the classifier: each check is a call that costs, so callers rate-limit it.</summary>
    public bool ScreensUserText => _options.Enabled && _options.UserMessages != UserMessageModeration.Off;

    /// <summary>Characters of new reply text between two checks on the stream; 0: only the final text.</summary>
    public int ReplyWindowChars => _options.ReplyWindowChars;

    /// <summary>
    /// Checks a text the user wrote (a message, or an edit of a turn) before it is recorded.
    /// </summary>
    /// <param name="field">The request field that holds it, named by the refusal.</param>
    /// <exception cref="ChatException">INVALID_ARGUMENT naming <paramref name="field"/> when flagged; UNAVAILABLE when moderation is down and the policy is fail-closed.</exception>
    public async Task CheckUserTextAsync(string text, string field, CancellationToken cancellationToken)
    {
        if (!_options.Enabled || _options.UserMessages == UserMessageModeration.Off)
        {
            return;
        }

        var verdict = await CheckAsync(text, ModerationTarget.UserMessage, cancellationToken);
        if (verdict is null)
        {
            if (_options.OnOutage == ModerationOutagePolicy.FailClosed)
            {
                throw new ChatException(ChatErrorKind.Unavailable, "moderation is unavailable, so the message was not recorded; retry shortly")
                {
                    RetryAfter = OutageRetryAfter,
                };
            }

            return;
        }

        if (verdict.Flagged)
        {
            Log.UserTextFlagged(logger, field, verdict.Category ?? "", moderator.Name);
            throw new ChatException(ChatErrorKind.InvalidArgument,
                $"{field} was flagged by moderation (category: {verdict.Category}); nothing was recorded", field);
        }
    }

    /// <summary>Checks a reply's text (so far, or whole); outages are settled by the policy here.</summary>
    public async Task<ReplyScreenResult> CheckReplyAsync(string text, CancellationToken cancellationToken)
    {
        var verdict = await CheckAsync(text, ModerationTarget.Reply, cancellationToken);
        return verdict switch
        {
            null => _options.OnOutage == ModerationOutagePolicy.FailClosed ? new ReplyScreenResult(false, null, true) { Checked = false } : ReplyScreenResult.Unchecked,
            { Flagged: true } => new ReplyScreenResult(true, verdict.Category, false),
            _ => ReplyScreenResult.Clean,
        };
    }

    /// <summary>The verdict, or null when the moderator could not answer in time (counted and logged as an outage).</summary>
    private async Task<ModerationVerdict?> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        string reason;
        try
        {
            // WaitAsync too: a moderator that ignores its token cannot hold a message or a settle beyond the time-out.
            var verdict = await moderator.CheckAsync(text, target, timeout.Token).WaitAsync(_options.Timeout, cancellationToken);
            ModerationMetrics.Checked(target, verdict.Flagged ? "flagged" : "clean");
            return verdict.Flagged ? ModerationVerdict.FlaggedAs(CategoryName(verdict.Category)) : verdict;
        }
        catch (ModerationUnavailableException ex)
        {
            reason = ex.Message;
            if (ex.Misconfigured)
            {
                // The same outage policy applies, but loudly: this does not pass by itself.
                Log.Misconfigured(logger, moderator.Name, ex.Message);
            }
        }
        catch (Exception ex) when ((ex is OperationCanceledException or TimeoutException) && !cancellationToken.IsCancellationRequested)
        {
            reason = $"no answer within {_options.Timeout.TotalMilliseconds:0} ms";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A moderator's bug is an outage too: the policy, not an exception, decides what passes.
            reason = $"{ex.GetType().Name}: {ex.Message}";
        }

        var blocked = _options.OnOutage == ModerationOutagePolicy.FailClosed;
        ModerationMetrics.Checked(target, "unavailable");
        ModerationMetrics.Outage(target, blocked);
        Log.Outage(logger, moderator.Name, ModerationMetrics.TargetName(target), reason, blocked ? "held back" : "let through unchecked");
        return null;
    }

    /// <summary>The longest category stored (<c>Candidates.FilterCategory</c> is STRING(128)); a classifier's own names are far shorter.</summary>
    internal const int MaxCategoryLength = 64;

    /// <summary>A classifier's category as it is stored and shown: printable, bounded, never empty.</summary>
    internal static string CategoryName(string? category)
    {
        var printable = new string([.. (category ?? "").Where(c => !char.IsControl(c))]).Trim();
        return printable.Length == 0 ? "unspecified" : printable.Length > MaxCategoryLength ? printable[..MaxCategoryLength] : printable;
    }

    private static partial class Log
    {
        [LoggerMessage(8101, LogLevel.Information, "A user's {Field} was flagged by moderation ({Category}, moderator {Moderator}) and refused; nothing was recorded.")]
        public static partial void UserTextFlagged(ILogger logger, string field, string category, string moderator);

        [LoggerMessage(8103, LogLevel.Error, "Moderator {Moderator} is misconfigured: {Reason}. Every check is an outage until it is fixed.")]
        public static partial void Misconfigured(ILogger logger, string moderator, string reason);

        [LoggerMessage(8102, LogLevel.Warning, "Moderator {Moderator} could not check a {Target}: {Reason}. By the outage policy it is {Action}.")]
        public static partial void Outage(ILogger logger, string moderator, string target, string reason, string action);
    }
}
