namespace ChatService.Chats;

/// <summary>
/// What a character keeps of the card it was imported from, for its export only (so it is never
/// read or cached with the character): <see cref="Outline"/>, the card's JSON with the fields the
/// character holds left out (up to 1 MiB, see Cards.CardOutline), and <see cref="Picture"/>, the PNG
/// it came in without its card chunks (null for a JSON card, or when the export did not ask for it).
/// </summary>
public sealed record StoredCard(string Outline, byte[]? Picture);
