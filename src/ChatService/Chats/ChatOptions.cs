using System.ComponentModel.DataAnnotations;

namespace ChatService.Chats;

/// <summary>Limits and policies of chats. Bound from the <c>Chat</c> configuration section.</summary>
public sealed class ChatOptions
{
    public const string Section = "Chat";

    /// <summary>Largest accepted message, in UTF-8 bytes. Default: 8192.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 8192;

    /// <summary>Largest persona, in UTF-8 bytes. Default: 32768.</summary>
    [Range(1, 1024 * 1024)]
    public int MaxPersonaBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// Most characters (Unicode code points) a character's whole definition may have: persona,
    /// description, personality, scenario, example dialogues, system prompt and post-history
    /// instructions together, as Character.AI bounds its definitions. Default: 32000.
    /// </summary>
    [Range(1, 1024 * 1024)]
    public int MaxDefinitionChars { get; set; } = 32_000;

    /// <summary>Most characters in one group chat. Default: 8.</summary>
    [Range(1, 64)]
    public int MaxCharactersPerChat { get; set; } = 8;

    /// <summary>How many characters answer a user turn in a group chat when none are named. Default: 1.</summary>
    [Range(1, 64)]
    public int GroupRepliesPerTurn { get; set; } = 1;

    /// <summary>Most turns one chat may have pinned (PinTurn refuses more with FAILED_PRECONDITION). Default: 20.</summary>
    [Range(1, 1000)]
    public int MaxPinnedTurns { get; set; } = 20;

    /// <summary>
    /// How many of the caller's chats one SearchChats page examines (a probe of the title and message indexes
    /// for each): what bounds a page's cost, whatever the number of chats the user has. Default: 200.
    /// </summary>
    [Range(1, 10_000)]
    public int SearchChatsPerPage { get; set; } = 200;

    /// <summary>Route used by characters created without one. Default: <c>default</c>.</summary>
    [Required]
    public string DefaultModelRoute { get; set; } = "default";

    /// <summary>
    /// Least time between two chat-count folds of one character on one replica: the chats started with it
    /// meanwhile are folded together at its end, so its count and "most used" position lag by about this
    /// much (docs/capacity.md). Default: 1 s.
    /// </summary>
    public TimeSpan ChatCountFoldInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often each replica looks for characters whose catalog rows are not written yet (created before
    /// the catalog, or by a replica of an earlier release during a rolling update) when it last found none:
    /// one small index read. While some are found, the replica holding the backfill's lease works without
    /// pause. Default: 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan CatalogBackfillInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the catalog backfill's lease lasts without renewal (each batch renews it); another replica takes over after it. Default: 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CatalogBackfillLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the replica that records a reply holds its lease before recovery may take it. Default: 30 s.</summary>
    public TimeSpan ReplyLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times recovery takes a reply over before settling it as failed. Default: 5.</summary>
    [Range(1, 100)]
    public int MaxRecoveryAttempts { get; set; } = 5;

    /// <summary>Shards of the owed-reply marker, so the recovery scan spreads over index ranges. Default: 64.</summary>
    [Range(1, 4096)]
    public int OwedReplyShards { get; set; } = 64;

    /// <summary>Identity of this replica in reply leases. Default: host name, process id and a random suffix.</summary>
    [Required, StringLength(64)]
    public string ReplicaId { get; set; } = DefaultReplicaId();

    private static string DefaultReplicaId()
    {
        var host = Environment.MachineName;
        return $"{host[..Math.Min(host.Length, 40)]}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
    }
}
