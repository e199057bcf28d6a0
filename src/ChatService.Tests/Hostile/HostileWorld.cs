using ChatService.Api.V1;
using ChatService.Tests.Cards;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>
/// The legitimate data of the suite: two users (each with characters, one of them imported from a
/// card, a one-to-one chat, a group chat and chats to delete) and a stranger who owns nothing.
/// Seeded through the API with real exchanges, a regeneration and a continuation, then paged
/// (history, chats, characters, the public catalog) so that real page tokens exist.
/// </summary>
internal sealed class HostileWorld
{
    private HostileWorld(Party alice, Party bob)
    {
        Alice = alice;
        Bob = bob;
    }

    public Party Alice { get; }

    public Party Bob { get; }

    /// <summary>A user with no data at all.</summary>
    public string Stranger { get; } = TestUsers.New();

    public IReadOnlyList<Party> Parties => [Alice, Bob];

    public Party Other(Party party) => ReferenceEquals(party, Alice) ? Bob : Alice;

    public static async Task<HostileWorld> SeedAsync(ChatServiceFixture fixture, CancellationToken cancellationToken)
    {
        var world = new HostileWorld(new Party(TestUsers.New()), new Party(TestUsers.New()));
        await Task.WhenAll(world.Parties.Select(party => SeedPartyAsync(fixture.Client(party.UserId), party, cancellationToken)));

        // Once both users' public characters exist, so that the catalog has more than one page.
        foreach (var party in world.Parties)
        {
            var token = "";
            do
            {
                var page = await fixture.Client(party.UserId).ListCharactersAsync(
                    new ListCharactersRequest { PageSize = 1, PageToken = token, Listing = CharacterListing.Public, Order = CharacterOrder.MostUsed },
                    cancellationToken: cancellationToken);
                token = page.NextPageToken;
                if (token.Length > 0)
                {
                    party.CatalogTokens.Add(token);
                }
            }
            while (token.Length > 0);
        }

        return world;
    }

    private static async Task SeedPartyAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, Party party, CancellationToken cancellationToken)
    {
        Task<Character> Create(string name, string greeting, Visibility visibility) => client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = name,
            Persona = $"{name} answers briefly and kindly.",
            Greeting = greeting,
            Visibility = visibility,
        }, cancellationToken: cancellationToken).ResponseAsync;

        party.Private = await Create("Ada", "Hello, I am Ada.", Visibility.Private);
        party.Quiet = await Create("Quinn", "", Visibility.Private);
        party.Public = await Create("Pat", "Hi from Pat.", Visibility.Public);
        party.Card = await client.ImportCharacterCardAsync(new ImportCharacterCardRequest
        {
            Png = ByteString.CopyFrom(TestPng.With(TestPng.Card(CardFixtures.V3, "ccv3"))),
            Visibility = Visibility.Unlisted,
        }, cancellationToken: cancellationToken);
        party.Unlisted = await Create("Una", "Hi from Una, {{user}}.", Visibility.Unlisted);
        party.Gone = await Create("Gus", "Hi from Gus.", Visibility.Private);
        await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { party.Gone.CharacterId } }, cancellationToken: cancellationToken);
        await client.DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = party.Gone.CharacterId }, cancellationToken: cancellationToken);
        party.Persona = await client.CreatePersonaAsync(new CreatePersonaRequest
        {
            Name = "Me", Description = "The user, as the characters know them.", IsDefault = true, CharacterIds = { party.Private.CharacterId },
        }, cancellationToken: cancellationToken);
        party.AltPersona = await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Alt" }, cancellationToken: cancellationToken);

        var oneToOne = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { party.Private.CharacterId } }, cancellationToken: cancellationToken);
        var group = await client.CreateChatAsync(new CreateChatRequest
        {
            CharacterIds = { party.Private.CharacterId, party.Quiet.CharacterId, party.Public.CharacterId },
            Title = "group",
        }, cancellationToken: cancellationToken);
        party.Chats.Add(new SeededChat(oneToOne.ChatId, false, oneToOne.CharacterIds));
        party.Chats.Add(new SeededChat(group.ChatId, true, group.CharacterIds));
        for (var i = 0; i < 2; i++)
        {
            party.Doomed.Add((await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { party.Quiet.CharacterId } },
                cancellationToken: cancellationToken)).ChatId);
        }

        party.Lorebook = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook
            {
                Name = "World",
                Entries = { new LoreEntry { Keys = { "seed", "/mess(age)?/i" }, Content = "Seeds grow." }, new LoreEntry { Constant = true, Content = "Always." } },
            },
        }, cancellationToken: cancellationToken);
        await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = oneToOne.ChatId, LorebookId = party.Lorebook.LorebookId }, cancellationToken: cancellationToken);
        await Task.WhenAll(party.Chats.Select(chat => SeedChatAsync(client, chat, cancellationToken)));

        var token = "";
        do
        {
            var page = await client.ListChatsAsync(new ListChatsRequest { PageSize = 1, PageToken = token }, cancellationToken: cancellationToken);
            token = page.NextPageToken;
            if (token.Length > 0)
            {
                party.ListTokens.Add(token);
            }
        }
        while (token.Length > 0);

        do
        {
            var page = await client.ListCharactersAsync(new ListCharactersRequest { PageSize = 1, PageToken = token }, cancellationToken: cancellationToken);
            token = page.NextPageToken;
            if (token.Length > 0)
            {
                party.CharacterListTokens.Add(token);
            }
        }
        while (token.Length > 0);
    }

    /// <summary>Three exchanges, then a regeneration (one-to-one) or a continuation (group).</summary>
    private static async Task SeedChatAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, SeededChat chat, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 3; i++)
        {
            var (requestId, text) = ($"seed-{i}", $"Seed message {i} of {(chat.IsGroup ? "the group" : "the chat")}.");
            await ReadAllAsync(client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = text, RequestId = requestId },
                cancellationToken: cancellationToken), cancellationToken);
            chat.Sends.Add((requestId, text));
        }

        await LoadTurnsAsync(client, chat, cancellationToken);
        var owed = chat.IsGroup
            ? client.ContinueChat(new ContinueChatRequest { ChatId = chat.ChatId, Turns = 2, RequestId = "seed-continue" }, cancellationToken: cancellationToken)
            : client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = chat.LastSeq, RequestId = "seed-regenerate" }, cancellationToken: cancellationToken);
        await ReadAllAsync(owed, cancellationToken);
        chat.OwedRequests.Add(chat.IsGroup ? "seed-continue" : "seed-regenerate");
        await LoadTurnsAsync(client, chat, cancellationToken);
    }

    /// <summary>Reads the chat's history in pages of two (keeping every page token) and remembers each candidate id seen.</summary>
    private static async Task LoadTurnsAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, SeededChat chat, CancellationToken cancellationToken)
    {
        chat.Turns.Clear();
        chat.HistoryTokens.Clear();
        var token = "";
        do
        {
            var page = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 2, PageToken = token },
                cancellationToken: cancellationToken);
            chat.Turns.AddRange(page.Turns);
            token = page.NextPageToken;
            if (token.Length > 0)
            {
                chat.HistoryTokens.Add(token);
            }
        }
        while (token.Length > 0);

        foreach (var turn in chat.Turns.Where(t => t.Role == AuthorRole.Character))
        {
            var known = chat.Candidates.TryGetValue(turn.Seq, out var list) ? list : chat.Candidates[turn.Seq] = [];
            if (!known.Contains(turn.CandidateId))
            {
                known.Add(turn.CandidateId);
            }
        }
    }

    private static async Task ReadAllAsync(AsyncServerStreamingCall<ReplyEvent> call, CancellationToken cancellationToken)
    {
        using (call)
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
            }
        }
    }
}
