namespace ChatService.Testing;

/// <summary>How <see cref="ServiceProcess.StartAsync"/> runs the service.</summary>
public sealed record ServiceProcessOptions
{
    /// <summary><c>ASPNETCORE_ENVIRONMENT</c>: the tests run it as Development, the bench as Production.</summary>
    public required string EnvironmentName { get; init; }

    /// <summary>Configuration keys (<c>Section:Key</c>) and values on top of its appsettings; applied last, so they win.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// How long <see cref="ServiceProcess.DisposeAsync"/> lets the host shut down after SIGTERM before it
    /// SIGKILLs it. Zero (the default) kills at once: most callers don't measure shutdown, and the
    /// service recovers owed replies either way.
    /// </summary>
    public TimeSpan DisposeGrace { get; init; } = TimeSpan.Zero;

    /// <summary>The service's entry assembly: by default next to the running program, where its project reference copies it.</summary>
    public string ServiceAssembly { get; init; } = Path.Combine(AppContext.BaseDirectory, "ChatService.dll");
}
