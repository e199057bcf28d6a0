using System.IO.Compression;
using ChatService.Auth;
using ChatService.Chats;
using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Grpc.Net.Compression;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace ChatService.Api;

/// <summary>Wires and maps the public gRPC API and server reflection (health: see HealthChecks/).</summary>
public static class ApiExtensions
{
    public static IHostApplicationBuilder AddChatApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc(options =>
        {
            // Outermost first: the chat's log scope also covers the error mapper's logs.
            options.Interceptors.Add<ChatScopeInterceptor>();
            options.Interceptors.Add<ErrorMappingInterceptor>();
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<ChatApi>, HistoryMethod>());
        builder.Services.AddSingleton(services => new MessageSizeLimits(
            MaxRequestBytes(services.GetRequiredService<IOptions<ChatOptions>>().Value),
            services.GetRequiredService<IOptions<Portability.ImportOptions>>().Value.MaxBytes));
        builder.Services.AddOptions<GrpcServiceOptions>().Configure<MessageSizeLimits>((options, limits) =>
        {
            // Every service but the chat API takes regular requests at most: server reflection (anonymous,
            // and a stream the per-call guard does not check) and health.
            options.MaxReceiveMessageSize = limits.Regular;
            // grpc-dotnet's default encodings, each inflating no more than the call's request may hold.
            options.CompressionProviders =
            [
                new BoundedDecompression(new GzipCompressionProvider(CompressionLevel.Fastest), limits),
                new BoundedDecompression(new DeflateCompressionProvider(CompressionLevel.Fastest), limits),
            ];
        });
        builder.Services.AddOptions<GrpcServiceOptions<ChatApi>>().Configure<MessageSizeLimits>((options, limits) =>
        {
            // The largest any of its methods takes; each call's own limit is enforced before this one (MessageSizeLimits).
            options.MaxReceiveMessageSize = limits.Largest;
        });
        // No Server header: it tells a caller nothing it needs, names the stack to a prober, and is one
        // more header on every response.
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddGrpcReflection();
        builder.Services.AddSingleton<RequestValidator>();

        // Stateless over singletons: one instance each rather than one per call (grpc-dotnet takes a
        // service or an interceptor from DI when it is registered there, and builds one per call otherwise).
        builder.Services.AddSingleton<ChatApi>();
        builder.Services.AddSingleton<ChatScopeInterceptor>();
        builder.Services.AddSingleton<ErrorMappingInterceptor>();
        return builder;
    }

    /// <summary>
    /// The largest request read by every method but ImportCharacterCard (see
    /// <see cref="MessageSizeLimits"/>): the largest legitimate one is a character (its definition of
    /// up to <see cref="ChatOptions.MaxDefinitionChars"/> characters of up to 4 bytes each, or the
    /// persona's own byte limit if that is larger; its greeting and alternate greetings; its card
    /// fields) with room for its short fields. Bigger messages are refused as RESOURCE_EXHAUSTED
    /// before they are buffered and parsed; smaller oversized text gets INVALID_ARGUMENT naming the
    /// field from <see cref="RequestValidator"/> or the domain.
    /// </summary>
    internal static int MaxRequestBytes(ChatOptions chat) =>
        Math.Max(4 * chat.MaxDefinitionChars, chat.MaxPersonaBytes)
        + ((1 + CharacterLimits.MaxAlternateGreetings) * chat.MaxMessageBytes)
        + CardFieldBytes
        + RequestOverheadBytes;

    /// <summary>Creator notes, creator, character version, avatar URL and tags at their largest.</summary>
    private const int CardFieldBytes =
        (4 * (CharacterLimits.MaxCreatorNotesChars + CharacterLimits.MaxCreatorChars + CharacterLimits.MaxCharacterVersionChars))
        + CharacterLimits.MaxAvatarUrlLength
        + (CharacterLimits.MaxTags * CharacterLimits.MaxTagLength * 3);

    private const int RequestOverheadBytes = 16 * 1024;

    /// <summary>
    /// Maps the chat API, which every call must be authenticated for (see
    /// <see cref="AuthExtensions.UseCallerAuthentication"/>), and server reflection, which stays anonymous.
    /// </summary>
    public static WebApplication MapChatApi(this WebApplication app)
    {
        app.UseMiddleware<MalformedRequestGuard>();
        app.MapGrpcService<ChatApi>().RequireCaller();
        app.MapGrpcReflectionService();
        return app;
    }
}
