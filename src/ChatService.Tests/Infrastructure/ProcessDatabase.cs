using Spanner.Client;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// A database of its own on the local emulator for tests that run the service as real processes,
/// with the settings every such process needs; dropped on dispose.
/// </summary>
public sealed class ProcessDatabase(LocalStack stack, string prefix) : IAsyncDisposable
{
    public string DatabaseId { get; } = prefix + Guid.NewGuid().ToString("N")[..12];

    public SpannerClientOptions SpannerOptions => new()
    {
        ProjectId = stack.ProjectId,
        InstanceId = stack.InstanceId,
        DatabaseId = DatabaseId,
        EmulatorHost = stack.EmulatorHost,
    };

    /// <summary>Spanner, Redis and the replica's identity, plus <paramref name="more"/>.</summary>
    public Dictionary<string, string> Settings(string replica, IReadOnlyDictionary<string, string> more)
    {
        var settings = new Dictionary<string, string>(more);
        foreach (var (key, value) in stack.Endpoints.ServiceSettings(stack.ProjectId, stack.InstanceId, DatabaseId))
        {
            settings[key] = value;
        }

        settings["Chat:ReplicaId"] = replica;
        return settings;
    }

    public async ValueTask DisposeAsync()
    {
        await using var admin = SpannerAdminClient.Create(SpannerOptions);
        await admin.DropDatabaseAsync();
    }
}
