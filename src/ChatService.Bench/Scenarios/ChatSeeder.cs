using System.Globalization;
using ChatService.Api.V1;
using Grpc.Core;
using ChatClient = ChatService.Api.V1.ChatService.ChatServiceClient;

namespace ChatService.Bench.Scenarios;

/// <summary>
/// Creates the data a scenario reads or writes: one public character and chats owned by
/// different users, each with a number of full exchanges (user message + generated reply).
/// </summary>
internal static class ChatSeeder
{
    private const string Owner = "bench-owner";

    /// <param name="modelRoute">The character's model route (a configured one); the service's default route when null.</param>
    public static async Task<IReadOnlyList<BenchChat>> SeedAsync(
        CallInvoker invoker, int chats, int exchanges, int concurrency, CancellationToken cancellationToken, string? modelRoute = null)
    {
        var client = new ChatClient(invoker);
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada",
            Persona = "You are Ada, a patient mathematician who explains ideas with small stories and asks questions back.",
            Greeting = "Hello! I'm Ada. Ask me anything about numbers, puzzles or the stories behind them.",
            Visibility = Visibility.Public,
            ModelRoute = modelRoute ?? "",
        }, new Metadata { { "x-user-id", Owner } }, cancellationToken: cancellationToken);

        var created = new BenchChat[chats];
        await Parallel.ForEachAsync(Enumerable.Range(0, chats), new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var user = "bench-user-" + i.ToString("D5", CultureInfo.InvariantCulture);
            var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } },
                new Metadata { { "x-user-id", user } }, cancellationToken: ct);
            var benchChat = new BenchChat(chat.ChatId, user);
            var random = new Random(i);
            for (var n = 0; n < exchanges; n++)
            {
                await Exchange.RunAsync(client, benchChat, SampleText.UserMessage(random), ct);
            }

            created[i] = benchChat;
        });
        return created;
    }
}
