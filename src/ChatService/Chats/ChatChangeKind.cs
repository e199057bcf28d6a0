namespace ChatService.Chats;

/// <summary>What kind of change a store committed to a chat.</summary>
public enum ChatChangeKind
{
    /// <summary>Turns as history now shows them, each with the version of its last change.</summary>
    Turns,

    /// <summary>
    /// A field of the chat that a cached window keeps with its turns changed (its pins): the window
    /// is dropped and loaded afresh by its next reader. No turn changed.
    /// </summary>
    Chat,

    /// <summary>The chat and everything under it are gone.</summary>
    Deleted,

    /// <summary>
    /// A new version of the chat's rolling summary was stored (<see cref="ChatChange.Summary"/>); no turn
    /// changed. A cached window is brought along in place when it held the version before, else dropped.
    /// </summary>
    Summary,

    /// <summary>
    /// Something may have changed without the writer knowing what: a write whose commit outcome is
    /// unknown, or one that found the reply already stored by someone else.
    /// </summary>
    Unknown,
}
