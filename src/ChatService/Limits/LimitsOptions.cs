using System.ComponentModel.DataAnnotations;

namespace ChatService.Limits;

/// <summary>
/// Per-user limits on the calls that start model work (SendMessage, Regenerate, ContinueChat, ContinueReply,
/// EditAndRegenerate), and on EditTurn while edits are moderated (each is a classifier call; it draws on the
/// same rate bucket, without a reply slot).
/// Bound from the <c>Limits</c> configuration section. Limits are counted per replica: with N
/// replicas behind a load balancer a user may get up to N times as much.
/// </summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>
    /// Reply-starting calls a user may make per minute, on average (a token bucket refilled
    /// smoothly). A fast typist sends a few a minute; a script sends hundreds. Default: 30.
    /// </summary>
    [Range(1, 1_000_000)]
    public int SendsPerMinute { get; set; } = 30;

    /// <summary>How many of those may come back to back (the bucket's size), e.g. a burst of swipes. Default: 10.</summary>
    [Range(1, 1_000_000)]
    public int SendBurst { get; set; } = 10;

    /// <summary>
    /// Calls of one user whose replies are still being generated on this replica. A call holds
    /// its slot until its last reply settles (completed, failed, cancelled or handed over),
    /// even if the caller has gone away. Default: 4.
    /// </summary>
    [Range(1, 1_000_000)]
    public int ConcurrentRepliesPerUser { get; set; } = 4;
}
