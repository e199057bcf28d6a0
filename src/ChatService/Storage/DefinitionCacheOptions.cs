using System.ComponentModel.DataAnnotations;

namespace ChatService.Storage;

/// <summary>The replica's memory cache of definitions. Bound from the <c>Cache</c> configuration section.</summary>
public sealed class DefinitionCacheOptions
{
    public const string Section = "Cache";

    /// <summary>
    /// Memory for the replica's cache of definitions: the characters and lorebooks it read from Spanner
    /// (a character with its prompt's prepared copy) and the definitions kept for warm chats' replies, each
    /// entry counted by an estimate of its bytes (<see cref="DefinitionBytes"/>); past it the cache drops
    /// entries, the least recently used first, and those are read again when next needed.
    /// From 1 MiB to 64 GiB. Default: 256 MiB.
    /// </summary>
    [Range(typeof(long), "1048576", "68719476736")]
    public long DefinitionsMemoryBytes { get; set; } = 256L * 1024 * 1024;
}
