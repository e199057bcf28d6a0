namespace Spanner.Client.Internal;

/// <summary>A server-side session owned by the pool.</summary>
internal sealed class PooledSession(string name, DateTimeOffset now)
{
    public string Name { get; } = name;

    /// <summary>When the session last did work; keep-alive pings sessions idle for longer than the interval.</summary>
    public DateTimeOffset LastUsed { get; set; } = now;

    public override string ToString() => Name;
}
