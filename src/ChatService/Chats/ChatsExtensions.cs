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
        builder.Services.AddSingleton<ReplyContextLoader>();
        return builder;
    }
}
