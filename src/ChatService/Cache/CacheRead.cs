using ChatService.Chats;

namespace ChatService.Cache;

/// <summary>What a cache read found.</summary>
internal enum CacheReadKind
{
    /// <summary>The window was cached.</summary>
    Hit,

    /// <summary>Nothing cached for the chat.</summary>
    Miss,

    /// <summary>The chat was deleted (a tombstone is cached).</summary>
    Deleted,

    /// <summary>Redis was skipped or failed: read from Spanner.</summary>
    Unavailable,
}

internal readonly record struct CacheRead(CacheReadKind Kind, ChatWindow? Window = null);

/// <summary>What a read of a window's head found.</summary>
internal readonly record struct HeadRead(CacheReadKind Kind, WindowHead? Head = null);
