using Microsoft.Extensions.Options;

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
        builder.Services.AddSingleton<IValidateOptions<ImportOptions>, ImportOptionsValidator>();
        builder.Services.AddSingleton<ImportGate>();
        builder.Services.AddSingleton<Storage.ChatArchiveStore>();
        builder.Services.AddSingleton<ChatPortability>();
        return builder;
    }
}
