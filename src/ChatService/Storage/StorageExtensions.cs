using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ChatService.Chats;
using Spanner.Client;

namespace ChatService.Storage;

/// <summary>Wires the Spanner client, the schema migration and the stores.</summary>
public static class StorageExtensions
{
    /// <summary>
    /// Adds Spanner storage: one shared client, migration on start, the character and chat stores,
    /// the reply ledger and a health check. The stores hand their changes to the
    /// <see cref="IChatChangeSink"/> the history cache registers.
    /// </summary>
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
        // Copies of the characters and books read, served again only once a read of their versions shows them
        // current, and the definitions kept for warm chats (DefinitionTokens). Each entry counts an estimate of
        // its bytes (DefinitionBytes: a character with its prompt's prepared copy) against Cache:DefinitionsMemoryBytes.
        builder.Services.AddOptions<DefinitionCacheOptions>()
            .BindConfiguration(DefinitionCacheOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddMemoryCache();
        builder.Services.AddOptions<MemoryCacheOptions>()
            .Configure<IOptions<DefinitionCacheOptions>>((memory, cache) => memory.SizeLimit = cache.Value.DefinitionsMemoryBytes);
        // The stores reach Spanner only through the gateway, which turns its errors into StorageException.
        builder.Services.AddSingleton<SpannerGateway>();
        builder.Services.AddSingleton<TurnCommits>();
        builder.Services.AddSingleton<WindowLoader>();
        builder.Services.AddSingleton<CharacterStore>();
        builder.Services.AddSingleton<ICharacterStore>(sp => sp.GetRequiredService<CharacterStore>());
        builder.Services.AddSingleton<ReplyDefinitionReader>();
        builder.Services.AddSingleton<IReplyDefinitions>(sp => sp.GetRequiredService<ReplyDefinitionReader>());
        builder.Services.AddSingleton<IPersonaStore, PersonaStore>();
        builder.Services.AddSingleton<LorebookStore>();
        builder.Services.AddSingleton<ILorebookStore>(sp => sp.GetRequiredService<LorebookStore>());
        builder.Services.AddSingleton<ChatCountFolder>();
        // Hosted so that a stopping replica runs the folds still waiting instead of dropping them.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ChatCountFolder>());
        // Catalog rows for characters that have none yet, in the background (schema version 7).
        builder.Services.AddSingleton<CatalogBackfill>();
        builder.Services.AddHostedService<CatalogBackfillJob>();
        builder.Services.AddSingleton<IChatStore, ChatStore>();
        builder.Services.AddSingleton<IReplyLedger, ReplyLedger>();
        builder.Services.AddSingleton<IChatMemoryStore, ChatMemoryStore>();
        builder.Services.AddHealthChecks().AddCheck<SpannerHealthCheck>("spanner", tags: [HealthChecks.HealthExtensions.ReadyTag]);
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }
}
