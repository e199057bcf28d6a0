using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Wires the Spanner client, the schema migration and the chat repository.</summary>
public static class StorageExtensions
{
    /// <summary>Adds Spanner storage: one shared client, migration on start, the repository and a health check.</summary>
    public static IHostApplicationBuilder AddChatStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SpannerOptions>()
            .BindConfiguration(SpannerOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddSingleton(sp => SpannerDatabaseClient.Create(
            sp.GetRequiredService<IOptions<SpannerOptions>>().Value.ToClientOptions(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<SchemaMigrator>();
        // Registered first among hosted services so the schema is in place before anything serves.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SchemaMigrator>());
        builder.Services.AddSingleton<ChatRepository>();
        builder.Services.AddSingleton<IChatStore>(sp => sp.GetRequiredService<ChatRepository>());
        builder.Services.AddSingleton<IReplyStore>(sp => sp.GetRequiredService<ChatRepository>());
        builder.Services.AddHealthChecks().AddCheck<SpannerHealthCheck>("spanner", tags: [HealthChecks.HealthExtensions.ReadyTag]);
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }
}
