using ChatService.Api.V1;

namespace ChatService.Tests.Hostile;

/// <summary>A chat with a few real exchanges, as it stood when seeding finished.</summary>
internal sealed class SeededChat(string chatId, bool isGroup, IReadOnlyList<string> characterIds)
{
    public string ChatId { get; } = chatId;

    public bool IsGroup { get; } = isGroup;

    public IReadOnlyList<string> CharacterIds { get; } = characterIds;

    public List<Turn> Turns { get; } = [];

    /// <summary>Every candidate id of each character turn (not only the primary one).</summary>
    public Dictionary<long, List<string>> Candidates { get; } = [];

    /// <summary>Request ids of SendMessage calls, with the text each recorded.</summary>
    public List<(string RequestId, string Text)> Sends { get; } = [];

    /// <summary>Request ids of Regenerate and ContinueChat calls.</summary>
    public List<string> OwedRequests { get; } = [];

    public List<string> HistoryTokens { get; } = [];

    public long LastSeq => Turns.Count == 0 ? 0 : Turns.Max(t => t.Seq);

    public Turn CharacterTurn(Random random) => Pick(random, Turns.Where(t => t.Role == AuthorRole.Character).ToList());

    public Turn UserTurn(Random random) => Pick(random, Turns.Where(t => t.Role == AuthorRole.User).ToList());

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
