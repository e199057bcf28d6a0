namespace ChatService.Cards;

/// <summary>The Character Card specs this service reads and writes; the value is the spec's major version.</summary>
public enum CardFormat
{
    /// <summary><c>"spec": "chara_card_v2"</c>, <c>"spec_version": "2.0"</c>.</summary>
    V2 = 2,

    /// <summary><c>"spec": "chara_card_v3"</c>, <c>"spec_version": "3.0"</c>.</summary>
    V3 = 3,
}
