using System.Net;
using ChatService.Api;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Api;

/// <summary>The in-process service serving a built web client from <see cref="Root"/> (WebClient:Root).</summary>
public sealed class WebClientFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    public const string IndexMarker = "<title>web client under test</title>";
    public const string HashedAsset = "assets/index-Ab12Cd34.js";

    public static readonly string Root = CreateRoot();

    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["WebClient:Root"] = Root,
    };

    private static string CreateRoot()
    {
        var root = Directory.CreateTempSubdirectory("chatservice-web-").FullName;
        File.WriteAllText(Path.Combine(root, "index.html"), $"<!doctype html><html><head>{IndexMarker}</head><body></body></html>");
        Directory.CreateDirectory(Path.Combine(root, "assets"));
        File.WriteAllText(Path.Combine(root, HashedAsset), "console.log('hello');");
        return root;
    }
}

/// <summary>
/// What scripts/run.sh relies on to open a working chat at http://localhost:8080/: the built client is
/// served at /, its hashed files are cached for good, index.html never is, and the API is unaffected.
/// </summary>
public sealed class WebClientTests(WebClientFixture fixture) : IClassFixture<WebClientFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Root_ServesIndexHtml_Revalidated_WithAContentSecurityPolicy()
    {
        using var http = fixture.Factory.CreateClient();

        using var response = await http.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(WebClientFixture.IndexMarker, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Contains("default-src 'self'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task HashedAsset_IsCachedAsImmutable()
    {
        using var http = fixture.Factory.CreateClient();

        using var response = await http.GetAsync("/" + WebClientFixture.HashedAsset, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task AnotherPath_IsNotFound_NotTheApp()
    {
        using var http = fixture.Factory.CreateClient();

        using var response = await http.GetAsync("/chat/some-id", Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task TheApi_AnswersBesideIt()
    {
        var character = await fixture.Client("web-client-user").CreateCharacterAsync(
            new CreateCharacterRequest { DisplayName = "Served", Persona = "Beside the web client." }, cancellationToken: Ct);

        Assert.NotEmpty(character.CharacterId);
    }

    [Fact]
    public void Validate_ARootWithoutIndexHtml_FailsSayingHowToBuildIt()
    {
        var empty = Directory.CreateTempSubdirectory("chatservice-web-empty-").FullName;

        var result = new WebClientOptionsValidator().Validate(null, new WebClientOptions { Root = empty });

        Assert.True(result.Failed);
        Assert.Contains("npm --prefix web run build", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new WebClientOptionsValidator().Validate(null, new WebClientOptions()).Succeeded);
    }
}
