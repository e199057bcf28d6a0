using System.Diagnostics.CodeAnalysis;

namespace ChatService.Chats;

/// <summary>Resource ids are random (version 4) UUIDs in canonical lowercase form.</summary>
public static class Ids
{
    public static string New() => Guid.NewGuid().ToString("D");

    /// <summary>True for a canonical lowercase UUID such as <c>3f2b…-…</c>.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id) =>
        id is { Length: 36 } && Guid.TryParseExact(id, "D", out var guid) && guid.ToString("D") == id;

    /// <summary>A stable shard in [0, shards) derived from a UUID's leading hex digits.</summary>
    public static int Shard(string id, int shards) => (int)(Convert.ToUInt32(id[..8], 16) % (uint)shards);
}
