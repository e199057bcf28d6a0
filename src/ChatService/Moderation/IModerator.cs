namespace ChatService.Moderation;

/// <summary>What a text is checked as: the user's own words, or a character's reply.</summary>
public enum ModerationTarget
{
    UserMessage,
    Reply,
}

/// <summary>
/// A classifier's answer for one text: whether it is flagged and, when it is, the category that
/// weighed most (e.g. <c>violence</c>, <c>harassment/threatening</c>), which is stored and logged.
/// </summary>
public sealed record ModerationVerdict(bool Flagged, string? Category)
{
    public static readonly ModerationVerdict Clean = new(false, null);

    public static ModerationVerdict FlaggedAs(string category) => new(true, category);
}

/// <summary>
/// The seam a safety classifier plugs into. Implementations are singletons, thread-safe, and throw
/// <see cref="ModerationUnavailableException"/> when they cannot give an answer (the configured
/// outage policy then decides); they never decide that policy themselves.
/// </summary>
public interface IModerator
{
    /// <summary>A name for logs and the model-call log (e.g. <c>openai:omni-moderation-latest</c>).</summary>
    string Name { get; }

    /// <exception cref="ModerationUnavailableException">No answer: the classifier is down, slow, or answered nonsense.</exception>
    Task<ModerationVerdict> CheckAsync(string text, ModerationTarget target, CancellationToken cancellationToken);
}

/// <summary>The moderator could not answer; what happens then is <c>Moderation:OnOutage</c>'s to say.</summary>
public sealed class ModerationUnavailableException(string message, Exception? inner = null, bool misconfigured = false) : Exception(message, inner)
{
    /// <summary>The endpoint refused the request itself (a 4xx other than 408/429): a configuration error, not a passing outage.</summary>
    public bool Misconfigured { get; } = misconfigured;
}
