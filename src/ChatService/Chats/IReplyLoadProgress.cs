namespace ChatService.Chats;

/// <summary>The points a reply's context load reaches, in order (see <see cref="IReplyLoadProgress"/>).</summary>
public enum ReplyLoadStage
{
    /// <summary>The chat's window was read (Redis, or the near cache).</summary>
    WindowRead,

    /// <summary>The reply's definitions are at hand (their change tokens read, and Spanner on a miss).</summary>
    DefinitionsRead,

    /// <summary>The context is complete: pins, memory, triggered lore.</summary>
    ContextLoaded,
}

/// <summary>
/// Told when <see cref="ReplyContextLoader.LoadAsync"/> reaches each <see cref="ReplyLoadStage"/>: how the
/// reply pipeline times a reply's first token path (<c>Dispatch:StageTimings</c>) without the loader knowing it.
/// </summary>
public interface IReplyLoadProgress
{
    /// <summary>Called on the loading path once the stage is reached; must be cheap and never throw.</summary>
    void Reached(ReplyLoadStage stage);
}
