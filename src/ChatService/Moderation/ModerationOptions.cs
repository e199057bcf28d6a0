using System.ComponentModel.DataAnnotations;

namespace ChatService.Moderation;

/// <summary>Which classifier checks texts.</summary>
public enum ModeratorKind
{
    /// <summary>No moderation: nothing is checked, and nothing is ever filtered.</summary>
    None,

    /// <summary>In process and deterministic: flags configured terms (tests, local runs).</summary>
    Simulated,

    /// <summary>An OpenAI-compatible <c>POST {BaseUrl}/moderations</c>.</summary>
    OpenAI,
}

/// <summary>What happens to a user's message.</summary>
public enum UserMessageModeration
{
    /// <summary>User messages are not checked.</summary>
    Off,

    /// <summary>Checked before anything is recorded: a flagged message is refused (INVALID_ARGUMENT naming <c>text</c>) and nothing is written.</summary>
    Refuse,
}

/// <summary>What happens when the moderator cannot answer.</summary>
public enum ModerationOutagePolicy
{
    /// <summary>The text goes through unchecked (counted, logged).</summary>
    FailOpen,

    /// <summary>The text is held back: a user message is refused (UNAVAILABLE), a reply withheld (failed, MODERATION_UNAVAILABLE).</summary>
    FailClosed,
}

/// <summary>The moderation step on user messages and replies. Bound from the <c>Moderation</c> section.</summary>
public sealed class ModerationOptions
{
    public const string Section = "Moderation";

    /// <summary>The classifier. Default: <see cref="ModeratorKind.None"/> (moderation off).</summary>
    public ModeratorKind Moderator { get; set; } = ModeratorKind.None;

    /// <summary>Whether user messages are checked, and how a flagged one is treated. Default: Refuse (when a moderator is set).</summary>
    public UserMessageModeration UserMessages { get; set; } = UserMessageModeration.Refuse;

    /// <summary>Whether replies are checked (on the stream in windows, and whole at the end). Default: true (when a moderator is set).</summary>
    public bool Replies { get; set; } = true;

    /// <summary>
    /// A reply's text so far is checked each time this many more characters have streamed (one check
    /// in flight at a time; the stream is not held up meanwhile); 0 checks only the final text. Default: 400.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ReplyWindowChars { get; set; } = 400;

    /// <summary>What a moderator outage does. Default: <see cref="ModerationOutagePolicy.FailOpen"/>.</summary>
    public ModerationOutagePolicy OnOutage { get; set; } = ModerationOutagePolicy.FailOpen;

    /// <summary>Longest one check may take before it counts as an outage. Default: 2 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    public OpenAIModeratorOptions OpenAI { get; set; } = new();

    public SimulatedModeratorOptions Simulated { get; set; } = new();

    /// <summary>Whether anything is checked at all.</summary>
    public bool Enabled => Moderator != ModeratorKind.None;
}

/// <summary>An OpenAI-compatible moderation endpoint (OpenAI's own, or a self-hosted classifier that speaks its shape).</summary>
public sealed class OpenAIModeratorOptions
{
    /// <summary>The API base, e.g. <c>https://api.openai.com/v1</c>; requests go to <c>{BaseUrl}/moderations</c>.</summary>
    public string BaseUrl { get; set; } = "";

    /// <summary>Sent as a bearer token when set; from a secret.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>The <c>model</c> of the request. Default: <c>omni-moderation-latest</c>.</summary>
    public string Model { get; set; } = "omni-moderation-latest";
}

/// <summary>The simulated moderator: deterministic, so tests and local runs can flag and break on purpose.</summary>
public sealed class SimulatedModeratorOptions
{
    /// <summary>
    /// Category → terms: a text containing a term (ignoring case) is flagged with its category; when
    /// several match, the category whose term occurs first wins. Default: <c>violence</c> flags
    /// <c>[mod:flag]</c>.
    /// </summary>
    public Dictionary<string, List<string>> FlaggedTerms { get; set; } = [];

    /// <summary>A text containing this (ignoring case) makes the check fail as an outage would. Default: <c>[mod:outage]</c>.</summary>
    public string OutageMarker { get; set; } = "[mod:outage]";

    /// <summary>The term flagged as <c>violence</c> when <see cref="FlaggedTerms"/> is empty.</summary>
    public const string DefaultFlagMarker = "[mod:flag]";
}
