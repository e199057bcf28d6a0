using System.Collections.Concurrent;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChatService.Tests.Spanner;

/// <summary>
/// The part of the GCE/GKE metadata server that credentials use (what Workload Identity answers in a pod):
/// the <c>Metadata-Flavor: Google</c> ping and the default service account's access token. Hands out
/// <c>meta-token-1</c>, <c>meta-token-2</c>, ... one per token request, valid for <see cref="ExpiresIn"/>.
/// </summary>
internal sealed class FakeMetadataServer : IAsyncDisposable
{
    public const string TokenPath = "/computeMetadata/v1/instance/service-accounts/default/token";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string?> _tokenRequestFlavors = new();
    private int _issued;

    private FakeMetadataServer(WebApplication app) => _app = app;

    /// <summary><c>host:port</c>, the form of <c>GCE_METADATA_HOST</c>.</summary>
    public string Host { get; private set; } = "";

    public string TokenUrl => $"http://{Host}{TokenPath}";

    public TimeSpan ExpiresIn { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The Metadata-Flavor header of each token request (the server only answers "Google").</summary>
    public IReadOnlyList<string?> TokenRequests => [.. _tokenRequestFlavors];

    public static async Task<FakeMetadataServer> StartAsync(CancellationToken cancellationToken)
    {
        var app = LoopbackWebApp.Create();
        var server = new FakeMetadataServer(app);
        app.Use((context, next) =>
        {
            context.Response.Headers["Metadata-Flavor"] = "Google";
            return next(context);
        });
        app.MapGet("/", () => Results.Ok());
        app.MapGet("/computeMetadata/v1/universe/universe-domain", () => Results.Text("googleapis.com"));
        app.MapGet(TokenPath, (HttpContext context) => server.IssueToken(context));
        server.Host = $"127.0.0.1:{await LoopbackWebApp.StartAsync(app, cancellationToken)}";
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private IResult IssueToken(HttpContext context)
    {
        var flavor = context.Request.Headers["Metadata-Flavor"].FirstOrDefault();
        _tokenRequestFlavors.Enqueue(flavor);
        if (flavor != "Google")
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        var token = $"meta-token-{Interlocked.Increment(ref _issued)}";
        return Results.Json(new { access_token = token, expires_in = (int)ExpiresIn.TotalSeconds, token_type = "Bearer" });
    }
}
