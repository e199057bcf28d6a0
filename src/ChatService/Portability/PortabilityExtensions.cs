namespace ChatService.Portability;

/// <summary>Wires chat export and import (ExportChat, ImportChat, ExportMyData).</summary>
public static class PortabilityExtensions
{
    public static IHostApplicationBuilder AddChatPortability(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ImportOptions>()
            .BindConfiguration(ImportOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<Storage.ChatArchiveStore>();
        builder.Services.AddSingleton<ChatPortability>();
        return builder;
    }
}
