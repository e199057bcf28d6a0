using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChatService.Tests.Auth;

/// <summary>
/// An issuer's key endpoint: a real HTTP server (Kestrel on a free loopback port) answering
/// <c>GET /.well-known/jwks.json</c> with the public keys of the signers it currently publishes.
/// Counts fetches, so tests can see keys being cached, and can be taken down or made to hang.
/// </summary>
public sealed class FakeJwksServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile TestSigner[] _published = [];
    private volatile bool _down;
    private volatile TaskCompletionSource? _hold;
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

    /// <summary>While true, every fetch is answered 503 (the issuer is down).</summary>
    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>
    /// Makes every fetch from now on hang (the issuer is slow) until the returned handle is disposed,
    /// which lets them all answer with the key set published at that moment.
    /// </summary>
    public IDisposable Hang()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _hold = hold;
        return new Release(this, hold);
    }

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

    private async Task ServeAsync(HttpContext context)
    {
        Interlocked.Increment(ref _fetches);
        if (_hold is { } hold)
        {
            await hold.Task.WaitAsync(context.RequestAborted);
        }

        if (_down)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        var keys = _published.Select(s => s.PublicJwk()).ToList();
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { keys }), context.RequestAborted);
    }

    private sealed class Release(FakeJwksServer server, TaskCompletionSource hold) : IDisposable
    {
        public void Dispose()
        {
            Interlocked.CompareExchange(ref server._hold, null, hold);
            hold.TrySetResult();
        }
    }
}
