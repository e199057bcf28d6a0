using ChatService.Chats;

namespace ChatService.Cards;

/// <summary>A card the service cannot take: INVALID_ARGUMENT naming the request field it came in.</summary>
internal static class CardErrors
{
    /// <summary><paramref name="problem"/> of the card in <paramref name="field"/> (<c>json</c> or <c>png</c>), e.g. "json: data.tags[2] must be a string".</summary>
    public static ChatException Invalid(string field, string problem) => new(ChatErrorKind.InvalidArgument, $"{field}: {problem}", field);
}
