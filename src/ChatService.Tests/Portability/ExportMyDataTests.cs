using System.Text;
using System.Text.Json.Nodes;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Grpc.Core;

namespace ChatService.Tests.Portability;

/// <summary>ExportMyData: everything the caller owns, and nothing of anyone else's.</summary>
public sealed class ExportMyDataTests(PortabilityFixture fixture) : PortabilityTestBase(fixture), IClassFixture<PortabilityFixture>
{
    [Fact]
    public async Task ExportMyData_StreamsTheCallersCharactersPersonasLorebooksAndChatsWithRatings_AndNothingElse()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var client = Fixture.Client(user);
        var ada = await CreateCharacterAsync(user, "Ada");
        var bea = await CreateCharacterAsync(user, "Bea");
        await client.DeleteCharacterAsync(new DeleteCharacterRequest { CharacterId = bea.CharacterId }, cancellationToken: Ct);
        var persona = await client.CreatePersonaAsync(new CreatePersonaRequest { Name = "Sam", Description = "A student." }, cancellationToken: Ct);
        var book = await client.CreateLorebookAsync(new CreateLorebookRequest
        {
            Lorebook = new Lorebook { Name = "Numbers", Entries = { new LoreEntry { Keys = { "prime" }, Content = "Primes have two divisors." } } },
        }, cancellationToken: Ct);
        var first = await CreateChatAsync(user, ada);
        await SendAsync(user, first.ChatId, "What is a prime?");
        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = first.ChatId, Seq = 3, Stars = 3 }, cancellationToken: Ct);
        var second = await CreateChatAsync(user, ada);
        var theirs = await CreateChatAsync(other, await CreateCharacterAsync(other, "Cy"));

        var parts = await ExportMyDataAsync(user);

        Assert.Equal(["characters.jsonl", "personas.jsonl", "lorebooks.jsonl", .. new[] { $"chats/{first.ChatId}.jsonl", $"chats/{second.ChatId}.jsonl" }.Order()],
            [.. parts.Keys.Take(3), .. parts.Keys.Skip(3).Order()]);
        Assert.Equal([bea.CharacterId, ada.CharacterId], Objects(parts["characters.jsonl"]).Select(c => (string?)c["characterId"]));
        Assert.NotNull(Objects(parts["characters.jsonl"])[0]["deleteTime"]);
        Assert.Equal([persona.PersonaId], Objects(parts["personas.jsonl"]).Select(p => (string?)p["personaId"]));
        Assert.Equal([book.LorebookId], Objects(parts["lorebooks.jsonl"]).Select(b => (string?)b["lorebookId"]));
        // Each book with its entries (ListLorebooks gives books without them).
        var entry = Assert.Single(Objects(parts["lorebooks.jsonl"])[0]["entries"]!.AsArray());
        Assert.Equal("Primes have two divisors.", (string?)entry!["content"]);
        Assert.Equal(["prime"], entry["keys"]!.AsArray().Select(k => (string?)k));
        var chat = Lines(parts[$"chats/{first.ChatId}.jsonl"]);
        Assert.Equal("chatservice.chat", (string?)chat[0]["format"]);
        Assert.Equal(first.ChatId, (string?)chat[0]["chat"]!["chat_id"]);
        Assert.Equal(4, chat.Count); // the header, the greeting, the message and its reply
        Assert.Equal(3, (int?)chat[3]["candidates"]![0]!["rating"]!["stars"]);
        Assert.DoesNotContain(parts.Keys, part => part.Contains(theirs.ChatId, StringComparison.Ordinal));

        // A user with nothing gets the parts, empty.
        var nobody = await ExportMyDataAsync(TestUsers.New());
        Assert.Equal(["characters.jsonl", "personas.jsonl", "lorebooks.jsonl"], nobody.Keys);
        Assert.All(nobody.Values, Assert.Empty);
    }

    [Fact]
    public async Task ExportMyData_CharactersOverSeveralChunks_AreStreamedAsTheyAreRead_EachOnceNewestFirst()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var made = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            // 12 characters of some 12 KiB each: the part is three chunks, the first two full.
            made.Add((await client.CreateCharacterAsync(new CreateCharacterRequest
            {
                DisplayName = $"Character {i}",
                Persona = $"Character {i}: " + new string((char)('a' + i), 12 * 1024),
            }, cancellationToken: Ct)).CharacterId);
        }

        // The last character is not read until the caller has the part's first chunk: an export that read them
        // all before sending any would wait here in vain (and is then let go, for the assertion to say so).
        var firstChunk = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var streamed = false;
        var portability = Fixture.Service<ChatService.Portability.ChatPortability>();
        portability.OnExportCharacter = async (who, position, ct) =>
        {
            if (who == user && position == made.Count - 1)
            {
                streamed = await firstChunk.Task.WaitAsync(TimeSpan.FromSeconds(15), ct).ContinueWith(t => t.IsCompletedSuccessfully, TaskScheduler.Default);
            }
        };
        var sizes = new List<int>();
        var part = new MemoryStream();
        try
        {
            using var call = client.ExportMyData(new ExportMyDataRequest(), cancellationToken: Ct);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(Ct))
            {
                if (chunk.Part == "characters.jsonl")
                {
                    sizes.Add(chunk.Data.Length);
                    chunk.Data.WriteTo(part);
                    firstChunk.TrySetResult();
                }
            }
        }
        finally
        {
            portability.OnExportCharacter = null;
        }

        Assert.True(streamed, "the first chunk of characters reached the caller only after the last character was read");

        Assert.Equal(3, sizes.Count);
        Assert.Equal([64 * 1024, 64 * 1024], sizes.Take(2));
        var characters = Objects(Encoding.UTF8.GetString(part.ToArray()));
        Assert.Equal(Enumerable.Reverse(made), characters.Select(c => (string?)c["characterId"]));
        Assert.All(characters, c => Assert.Equal(12 * 1024 + $"{c["displayName"]}: ".Length, ((string?)c["persona"])!.Length));
    }

    /// <summary>The parts of an ExportMyData stream in the order they came, each the concatenation of its chunks (which must be consecutive).</summary>
    private async Task<Dictionary<string, string>> ExportMyDataAsync(string userId)
    {
        using var call = Fixture.Client(userId).ExportMyData(new ExportMyDataRequest(), cancellationToken: Ct);
        var parts = new Dictionary<string, MemoryStream>();
        var order = new List<string>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(Ct))
        {
            if (order.Count == 0 || order[^1] != chunk.Part)
            {
                Assert.DoesNotContain(chunk.Part, order);
                order.Add(chunk.Part);
                parts[chunk.Part] = new MemoryStream();
            }

            // A part is its chunks' bytes one after the other (a chunk may end inside a line, even a character).
            Assert.InRange(chunk.Data.Length, 0, 64 * 1024);
            chunk.Data.WriteTo(parts[chunk.Part]);
        }

        var result = new Dictionary<string, string>();
        foreach (var part in order)
        {
            result[part] = Encoding.UTF8.GetString(parts[part].ToArray());
        }

        return result;
    }

    private static List<JsonObject> Objects(string part) => Lines(part);
}
