using ChatService.Chats;

namespace ChatService.Api;

internal sealed partial class RequestValidator
{
    /// <summary>A memory note: empty (none), or at most <paramref name="maxChars"/> characters (code points).</summary>
    public static string? MemoryNote(string note, int maxChars)
    {
        MaxChars(note, "note", maxChars);
        return string.IsNullOrWhiteSpace(note) ? null : note;
    }

    /// <summary>A memory note's depth: absent (the default), -1 (ahead of the recent turns) or 0..<see cref="MemoryOptions.MaxDepth"/>.</summary>
    public static int? MemoryDepth(V1.UpdateChatMemoryRequest request)
    {
        if (!request.HasDepth)
        {
            return null;
        }

        if (request.Depth is < ChatMemory.AheadOfTurns or > MemoryOptions.MaxDepth)
        {
            ApiErrors.ThrowInvalidArgument("depth",
                $"depth must be -1 (ahead of the recent turns) or 0..{MemoryOptions.MaxDepth} (messages above the newest), got {request.Depth}");
        }

        return request.Depth;
    }
}
