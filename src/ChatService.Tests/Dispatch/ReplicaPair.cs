using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Spanner.Client;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// Two service processes on a database of their own and the shared Redis Cluster, as two replicas
/// behind a load balancer: A, where the tests send messages (so A generates the replies), and B.
/// Their replica ids are unique to the pair, so pairs of other tests on the same Redis Cluster
/// never take each other's signals.
/// </summary>
public sealed class ReplicaPair : IAsyncDisposable
{
    private const int OutputLines = 60;

    private ReplicaPair(ProcessDatabase database, ServiceProcess a, ServiceProcess b)
    {
        Database = database;
        A = a;
        B = b;
    }

    public ProcessDatabase Database { get; }

    public ServiceProcess A { get; }

    public ServiceProcess B { get; }

    /// <summary>
    /// Starts A, then B (the first start creates the database's schema), each with its own settings.
    /// <paramref name="stackOverridesOfB"/> replace B's stack settings (e.g. <c>Redis:Endpoints</c>, for a B
    /// that can't reach Redis), which otherwise win over <paramref name="settingsOfB"/>.
    /// </summary>
    public static async Task<ReplicaPair> StartAsync(LocalStack stack, string prefix, IReadOnlyDictionary<string, string> settingsOfA,
        IReadOnlyDictionary<string, string> settingsOfB, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? stackOverridesOfB = null)
    {
        var database = new ProcessDatabase(stack, prefix);
        ServiceProcess? a = null;
        try
        {
            a = await ServiceProcess.StartAsync(database.Settings("a-" + database.DatabaseId, settingsOfA), cancellationToken);
            var settingsB = database.Settings("b-" + database.DatabaseId, settingsOfB);
            foreach (var (key, value) in stackOverridesOfB ?? new Dictionary<string, string>())
            {
                settingsB[key] = value;
            }

            var b = await ServiceProcess.StartAsync(settingsB, cancellationToken);
            return new ReplicaPair(database, a, b);
        }
        catch
        {
            if (a is not null)
            {
                await a.DisposeAsync();
            }

            try
            {
                await database.DisposeAsync();
            }
            catch (SpannerException)
            {
                // Never created: the first replica failed before it made the schema.
            }

            throw;
        }
    }

    /// <summary>The last lines each replica printed, for failure messages.</summary>
    public string Outputs() =>
        $"--- replica A (pid {A.Pid}), last lines ---\n{Tail(A.Output)}\n--- replica B (pid {B.Pid}), last lines ---\n{Tail(B.Output)}";

    /// <summary>A new user, a character of theirs on <paramref name="route"/> (the default route when null), and <paramref name="count"/> chats with it, made on A.</summary>
    public async Task<(string User, IReadOnlyList<string> ChatIds)> NewChatsAsync(int count, string? route, CancellationToken cancellationToken)
    {
        var user = TestUsers.New();
        var client = A.Client(user);
        var character = await client.CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician.", ModelRoute = route ?? "" },
            cancellationToken: cancellationToken);
        var chatIds = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: cancellationToken);
            chatIds.Add(chat.ChatId);
        }

        return (user, chatIds);
    }

    /// <summary>A reply turn as stored (its primary candidate), read with <paramref name="replica"/>'s GetHistory.</summary>
    public async Task<Turn> StoredTurnAsync(ServiceProcess replica, string user, string chatId, long seq, CancellationToken cancellationToken)
    {
        var history = await replica.Client(user).GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 100 }, cancellationToken: cancellationToken);
        return history.Turns.SingleOrDefault(t => t.Seq == seq)
            ?? throw new InvalidOperationException($"turn {seq} of chat {chatId} is not in its history");
    }

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        await Database.DisposeAsync();
    }

    private static string Tail(string output)
    {
        var lines = output.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - OutputLines)));
    }
}
