using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>
/// What tells whether a copy of a character is current: its version (every update makes a new one)
/// and its delete time (a deletion leaves the version as it was).
/// </summary>
internal readonly record struct CharacterStamp(string CharacterId, long Version, DateTimeOffset? DeleteTime)
{
    /// <summary>The columns <see cref="Read"/> maps, from Characters.</summary>
    public const string Columns = "CharacterId, IFNULL(Version, 1) AS Version, DeleteTime";

    public static CharacterStamp Read(SpannerRow row) =>
        new(row.Get<string>("CharacterId"), row.Get<long>("Version"), row.Get<DateTimeOffset?>("DeleteTime"));

    public bool Matches(Character character) => character.Version == Version && character.DeleteTime == DeleteTime;
}
