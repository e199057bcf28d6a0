using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChatService.Tests.Auth;

/// <summary>
/// An issuer's key endpoint: a real HTTP server (Kestrel on a free loopback port) answering
/// <c>GET /.well-known/jwks.json</c> with the public keys of the signers it currently publishes.
/// Counts fetches, so tests can see keys being cached.
/// </summary>
public sealed class FakeJwksServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile TestSigner[] _published = [];
    private int _fetches;

    private FakeJwksServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>Replaces the published key set (a rotation).</summary>
    public void Publish(params TestSigner[] signers) => _published = signers;

    public static async Task<FakeJwksServer> StartAsync(CancellationToken cancellationToken)
    {
        var app = LoopbackWebApp.Create();
        FakeJwksServer? server = null;
        app.MapGet("/.well-known/jwks.json", (HttpContext context) => server!.ServeAsync(context));
        var port = await LoopbackWebApp.StartAsync(app, cancellationToken);
        server = new FakeJwksServer(app, new Uri($"http://127.0.0.1:{port}/.well-known/jwks.json"));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Task ServeAsync(HttpContext context)
    {
        Interlocked.Increment(ref _fetches);
        var keys = _published.Select(s => s.PublicJwk()).ToList();
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { keys }), context.RequestAborted);
    }
}
