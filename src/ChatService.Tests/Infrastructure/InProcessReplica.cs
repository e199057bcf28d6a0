using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Infrastructure;

/// <summary>
/// One replica of the service hosted in process (its own host, Redis connection, near cache and
/// reply queue) on settings the test chooses entirely: several of them on one database are the
/// replicas behind a load balancer, at a fraction of the cost of service processes.
/// </summary>
public sealed class InProcessReplica : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly GrpcChannel _channel;

    private InProcessReplica(string name, WebApplicationFactory<Program> factory)
    {
        Name = name;
        _factory = factory;
        _channel = GrpcChannel.ForAddress(factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = factory.Server.CreateHandler() });
    }

    public string Name { get; }

    /// <summary>
    /// Starts the replica as Development with <see cref="ChatServiceFixture.GenerousLimits"/> and then
    /// <paramref name="settings"/> (which must name the database, Redis and the replica id); returns
    /// once its host has started (the first replica on a database creates the schema).
    /// </summary>
    /// <param name="configureServices">Registrations on top of the service's own (they run after them, so they can replace one).</param>
    public static InProcessReplica Start(string name, IReadOnlyDictionary<string, string> settings, Action<IServiceCollection>? configureServices = null)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment("Development");
            foreach (var (key, value) in ChatServiceFixture.GenerousLimits.Concat(settings))
            {
                builder.UseSetting(key, value);
            }

            if (configureServices is not null)
            {
                builder.ConfigureTestServices(configureServices);
            }
        });
        try
        {
            // Server starts the host; should it (or anything after) throw, the factory goes with the failure.
            return new InProcessReplica(name, factory);
        }
        catch
        {
            factory.Dispose();
            throw;
        }
    }

    /// <summary>The replica's services (its Redis connection, say).</summary>
    public IServiceProvider Services => _factory.Services;

    /// <summary>A client that calls as <paramref name="userId"/> (the local-mode x-user-id header).</summary>
    public ChatService.Api.V1.ChatService.ChatServiceClient Client(string userId) =>
        new(_channel.Intercept(headers =>
        {
            headers.Add("x-user-id", userId);
            return headers;
        }));

    public override string ToString() => Name;

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
    }
}
