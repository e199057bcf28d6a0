using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace ChatService.Tests.Infrastructure;

/// <summary>A bare HTTP/1.1 app on a free loopback port, for the fake servers tests stand up.</summary>
public static class LoopbackWebApp
{
    /// <summary>An app with no configuration and no logging, listening on 127.0.0.1 at a port picked when it starts.</summary>
    public static WebApplication Create()
    {
        var builder = WebApplication.CreateBuilder();
        // The test output holds the service's appsettings.json with its fixed Kestrel endpoints; a fake server wants none of it.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        return builder.Build();
    }

    /// <summary>Starts <paramref name="app"/> and returns the port it listens on.</summary>
    public static async Task<int> StartAsync(WebApplication app, CancellationToken cancellationToken)
    {
        await app.StartAsync(cancellationToken);
        return new Uri(app.Urls.Single()).Port;
    }
}
