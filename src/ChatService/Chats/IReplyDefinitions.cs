namespace ChatService.Chats;

/// <summary>
/// What a reply is generated from besides its turns: the chat's characters at their current
/// versions (a reply uses the version current when it is generated) and the persona the chat's
/// user speaks as to the speaker, or null when there is none.
/// </summary>
public sealed record ReplyDefinitions(IReadOnlyDictionary<string, Character> Cast, UserPersona? Persona)
{
    /// <summary>The lorebooks the speaker's reply uses: the speaker's own and the chat's, at their current versions.</summary>
    public IReadOnlyList<Lorebook> Lorebooks { get; init; } = [];
}

/// <summary>Reads <see cref="ReplyDefinitions"/> for a reply whose turns came from the chat's cached window.</summary>
public interface IReplyDefinitions
{
    /// <summary>
    /// The cast of <paramref name="chatId"/> as stored now, and the persona <paramref name="userId"/>
    /// speaks to <paramref name="speakerId"/> as: the chat's pinned persona if it still exists, else the
    /// user's override for the speaker, else the user's default persona.
    /// </summary>
    Task<ReplyDefinitions> LoadAsync(string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, CancellationToken cancellationToken);

    /// <summary>
    /// Starts, before the caller knows the user and the cast (it is about to read the chat's window), what
    /// <see cref="LoadAsync(string, string, string, IReadOnlyCollection{string}, DefinitionsPrefetch?, CancellationToken)"/>
    /// for this chat will wait on, so that both go to the network at once. Null when there is nothing to start.
    /// </summary>
    DefinitionsPrefetch? Prefetch(string chatId) => null;

    /// <summary>As <see cref="LoadAsync(string, string, string, IReadOnlyCollection{string}, CancellationToken)"/>, using what <see cref="Prefetch"/> started where it fits.</summary>
    Task<ReplyDefinitions> LoadAsync(
        string userId, string chatId, string speakerId, IReadOnlyCollection<string> castIds, DefinitionsPrefetch? prefetch, CancellationToken cancellationToken) =>
        LoadAsync(userId, chatId, speakerId, castIds, cancellationToken);
}

/// <summary>What <see cref="IReplyDefinitions.Prefetch"/> started; only the implementation that made it reads it.</summary>
public abstract class DefinitionsPrefetch;
