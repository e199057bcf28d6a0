namespace ChatService.Chats;

/// <summary>Kinds of domain failure; the API maps each to one gRPC status code.</summary>
public enum ChatErrorKind
{
    InvalidArgument,
    NotFound,
    FailedPrecondition,
    ResourceExhausted,

    /// <summary>Temporarily unable to serve (e.g. shutting down); the caller may retry elsewhere.</summary>
    Unavailable,

    /// <summary>The caller can see the resource but may not change it (another user's public character).</summary>
    PermissionDenied,

    /// <summary>A change made against a version that is no longer current: read it again and retry.</summary>
    Aborted,
}

/// <summary>
/// A request the domain refuses, with a message for the caller. Thrown before anything is
/// written, or from inside a transaction so that it rolls back.
/// </summary>
public sealed class ChatException(ChatErrorKind kind, string message, string? field = null) : Exception(message)
{
    public ChatErrorKind Kind { get; } = kind;

    /// <summary>The request field at fault, for INVALID_ARGUMENT details.</summary>
    public string? Field { get; } = field;

    /// <summary>For RESOURCE_EXHAUSTED and UNAVAILABLE: when retrying makes sense (sent as google.rpc.RetryInfo).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static ChatException ChatNotFound(string chatId) => new(ChatErrorKind.NotFound, $"chat {chatId} not found");

    public static ChatException CharacterNotFound(string characterId) => new(ChatErrorKind.NotFound, $"character {characterId} not found");

    public static ChatException PersonaNotFound(string personaId) => new(ChatErrorKind.NotFound, $"persona {personaId} not found");

    public static ChatException TurnNotFound(string chatId, long seq) => new(ChatErrorKind.NotFound, $"turn {seq} of chat {chatId} not found");

    /// <summary>The turn exists but was rewound or deleted: restore it first (RestoreTurns).</summary>
    public static ChatException TurnHidden(string chatId, long seq) =>
        new(ChatErrorKind.FailedPrecondition, $"turn {seq} of chat {chatId} is rewound or deleted; restore it (RestoreTurns) first");
}
