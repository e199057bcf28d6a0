using ChatService.Api.V1;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Tests.Privacy;

/// <summary>
/// Everything one user can own, made through the API: two characters (one public, with its own lorebook), a
/// default persona overriding one of them, a chat-attached lorebook, and a chat with an exchange, an edit, a
/// rating, a pin and a memory note. The ids are what a deletion must leave no trace of.
/// </summary>
internal sealed class UserData
{
    public required string UserId { get; init; }

    public required Character Public { get; init; }

    public required Character Private { get; init; }

    public required Chat Chat { get; init; }

    public List<string> ChatIds { get; } = [];

    public List<string> LorebookIds { get; } = [];

    public List<string> PersonaIds { get; } = [];

    /// <summary>Ids that no row or key may hold once the user's data is deleted (characters stay, scrubbed, so they are apart).</summary>
    public IReadOnlyCollection<string> OwnIds => [UserId, .. ChatIds, .. LorebookIds, .. PersonaIds];

    public IReadOnlyList<string> CharacterIds => [Public.CharacterId, Private.CharacterId];

    public static async Task<UserData> CreateAsync(ChatClient client, string userId, CancellationToken ct)
    {
        var pub = await client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada", Persona = "A patient mathematician.", Greeting = "Hello!", Visibility = Visibility.Public, Tags = { "maths" },
            Description = "secret description",
        }, cancellationToken: ct);
        var priv = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Bo", Persona = "A private friend.", Greeting = "Hi." }, cancellationToken: ct);
        var persona = await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Sam", Description = "Likes puzzles.", IsDefault = true, CharacterIds = { pub.CharacterId } },
            cancellationToken: ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { pub.CharacterId }, Title = "my chat" }, cancellationToken: ct);
        var data = new UserData { UserId = userId, Public = pub, Private = priv, Chat = chat };
        data.ChatIds.Add(chat.ChatId);
        data.PersonaIds.Add(persona.PersonaId);

        var characterBook = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Ada's world", CharacterId = pub.CharacterId, Entries = { new LoreEntry { Constant = true, Content = "Numbers are friends." } } },
        }, cancellationToken: ct);
        var chatBook = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Places", Entries = { new LoreEntry { Keys = { "garden" }, Content = "A garden of primes." } } },
        }, cancellationToken: ct);
        data.LorebookIds.AddRange([characterBook.LorebookId, chatBook.LorebookId]);
        await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = chat.ChatId, LorebookId = chatBook.LorebookId }, cancellationToken: ct);

        await SendAsync(client, chat.ChatId, "Tell me about the garden.", "m1", ct);
        var reply = await SendAsync(client, chat.ChatId, "And about primes?", "m2", ct);
        // Continued (ContinueReply): its generation has a reply log of its own (…:c1).
        await ContinueAsync(client, chat.ChatId, reply.Seq, "c1", ct);
        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = reply.Seq, Stars = 4, Tags = { "clever" }, Comment = "nice" }, cancellationToken: ct);
        await client.PinTurnAsync(new PinTurnRequest { ChatId = chat.ChatId, Seq = 2 }, cancellationToken: ct);
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = 2, Text = "Tell me about the orchard.", RequestId = "e1" }, cancellationToken: ct);
        await client.UpdateChatMemoryAsync(new UpdateChatMemoryRequest { ChatId = chat.ChatId, Note = "Sam likes primes." }, cancellationToken: ct);
        await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: ct);
        return data;
    }

    /// <summary>Continues a reply (ContinueReply) and reads its stream to the end.</summary>
    public static async Task ContinueAsync(ChatClient client, string chatId, long seq, string requestId, CancellationToken ct)
    {
        using var call = client.ContinueReply(new ContinueReplyRequest { ChatId = chatId, Seq = seq, RequestId = requestId }, cancellationToken: ct);
        var completed = false;
        await foreach (var e in call.ResponseStream.ReadAllAsync(ct))
        {
            completed |= e.EventCase == ReplyEvent.EventOneofCase.Completed;
        }

        if (!completed)
        {
            throw new InvalidOperationException($"the continuation of turn {seq} in chat {chatId} did not complete");
        }
    }

    /// <summary>Sends a message and reads its stream to the end; returns the reply's completed turn.</summary>
    public static async Task<Turn> SendAsync(ChatClient client, string chatId, string text, string requestId, CancellationToken ct)
    {
        using var call = client.SendMessage(new SendMessageRequest { ChatId = chatId, Text = text, RequestId = requestId }, cancellationToken: ct);
        Turn? completed = null;
        await foreach (var e in call.ResponseStream.ReadAllAsync(ct))
        {
            completed = e.EventCase == ReplyEvent.EventOneofCase.Completed ? e.Completed.Turn : completed;
        }

        return completed ?? throw new InvalidOperationException($"no reply completed in chat {chatId}");
    }
}
