using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>Serves the built reference web client (see <see cref="WebClientOptions"/>) when it is configured.</summary>
public static class WebClientExtensions
{
    // The app loads only its own files and calls the service it is told to (the sign-in form names it),
    // so scripts, styles and frames are limited to this origin and connections are left open.
    private const string ContentSecurityPolicy =
        "default-src 'self'; connect-src *; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>Binds and validates <c>WebClient</c>.</summary>
    public static IHostApplicationBuilder AddWebClient(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebClientOptions>()
            .BindConfiguration(WebClientOptions.Section)
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WebClientOptions>, WebClientOptionsValidator>();
        return builder;
    }

    /// <summary>
    /// Answers GET / with the client's index.html and its files from the root. The app routes in the URL
    /// hash, so no other path needs to fall back to index.html, and no gRPC route is shadowed.
    /// </summary>
    public static WebApplication UseWebClient(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<WebClientOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        var files = new PhysicalFileProvider(Path.GetFullPath(options.Root!));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context =>
            {
                var headers = context.Context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                // Vite names the bundle's files by their content hash: they never change. index.html does
                // with every build, so it is always revalidated.
                var hashed = context.Context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal);
                headers.CacheControl = hashed ? "public, max-age=31536000, immutable" : "no-cache";
                if (context.File.Name.EndsWith(".html", StringComparison.OrdinalIgnoreCase))
                {
                    headers.ContentSecurityPolicy = ContentSecurityPolicy;
                }
            },
        });
        app.Logger.LogInformation("Serving the web client from {Root} at /", files.Root);
        return app;
    }
}
