using Microsoft.Extensions.AI;

namespace ChatService.Inference;

/// <summary>Rough token counts for when a backend reports none: about four characters a token.</summary>
internal static class TokenEstimate
{
    public static int FromChars(long chars) => (int)Math.Min(int.MaxValue, (chars + 3) / 4);

    public static int FromMessages(IEnumerable<ChatMessage> messages) => FromChars(messages.Sum(m => (long)m.Text.Length));
}
