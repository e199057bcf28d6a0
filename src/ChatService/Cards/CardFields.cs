using System.Collections.Frozen;

namespace ChatService.Cards;

/// <summary>Field names of the Character Card specs (V2: malfoyslastname/character-card-spec-v2; V3: kwaroran/character-card-spec-v3).</summary>
internal static class CardFields
{
    public const string Spec = "spec";
    public const string SpecVersion = "spec_version";
    public const string Data = "data";
    public const string Extensions = "extensions";
    public const string GroupOnlyGreetings = "group_only_greetings";
    public const string ModificationDate = "modification_date";

    /// <summary>SillyTavern's extension for a character's talkativeness in group chats: a number 0..1, often written as a string ("0.5").</summary>
    public const string Talkativeness = "talkativeness";

    public const string V2Name = "chara_card_v2";
    public const string V3Name = "chara_card_v3";

    /// <summary>
    /// Where a V2 export of a V3 card keeps the V3 fields V2 has no place for: an extension, the one
    /// place the V2 spec gives applications, namespaced as it asks. A V3 export takes them back out.
    /// </summary>
    public const string V3InExtensions = "chatservice/ccv3";

    /// <summary>
    /// The <c>data</c> fields a character holds as its own properties, in the order a card written
    /// from scratch lists them; every other field is kept as it came.
    /// </summary>
    public static readonly string[] Mapped =
    [
        "name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes", "system_prompt",
        "post_history_instructions", "alternate_greetings", "tags", "creator", "character_version",
    ];

    public static readonly FrozenSet<string> MappedSet = Mapped.ToFrozenSet();

    /// <summary>Every <c>data</c> field of the V2 spec; a V3 card's other fields are V3's own.</summary>
    public static readonly FrozenSet<string> V2Data = Mapped.Concat([Extensions, "character_book"]).ToFrozenSet();

    public static string Name(CardFormat format) => format == CardFormat.V2 ? V2Name : V3Name;

    public static string Version(CardFormat format) => format == CardFormat.V2 ? "2.0" : "3.0";
}
