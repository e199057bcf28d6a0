namespace ChatService.Chats;

/// <summary>Wires the chat domain.</summary>
public static class ChatsExtensions
{
    public static IHostApplicationBuilder AddChatDomain(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChatOptions>()
            .BindConfiguration(ChatOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<CharacterCatalog>();
        builder.Services.AddSingleton<PersonaDirectory>();
        builder.Services.AddSingleton<ChatDirectory>();
        builder.Services.AddSingleton<ChatHistory>();
        builder.Services.AddSingleton<ChatHousekeeping>();
        builder.Services.AddSingleton<ReplyContextLoader>();
        builder.Services.AddSingleton<Inference.LoreCompiler>();
        builder.Services.AddSingleton<LorebookDirectory>();
        return builder;
    }
}
