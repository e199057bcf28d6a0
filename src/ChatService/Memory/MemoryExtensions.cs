using ChatService.Chats;
using ChatService.Inference;
using ChatService.Storage;
using Microsoft.Extensions.Options;

namespace ChatService.Memory;

/// <summary>Wires the chat memory note and the rolling-summary job (its scheduler and its sweep).</summary>
public static class MemoryExtensions
{
    public static IHostApplicationBuilder AddChatMemory(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<MemoryOptions>()
            .BindConfiguration(MemoryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<SummaryOptions>()
            .BindConfiguration(SummaryOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<SummaryJobStore>();
        builder.Services.AddSingleton<SummaryLeases>();
        builder.Services.AddSingleton(sp => new SummaryJobRunner(
            sp.GetRequiredService<SummaryJobStore>(),
            sp.GetRequiredService<SummaryLeases>(),
            sp.GetRequiredService<ModelRouter>(),
            sp.GetRequiredService<IOptions<SummaryOptions>>().Value,
            sp.GetRequiredService<IOptions<ChatOptions>>().Value.ReplicaId,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SummaryJobRunner>>()));
        builder.Services.AddSingleton<SummaryScheduler>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SummaryScheduler>());
        builder.Services.AddSingleton<SummarySweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SummarySweeper>());
        return builder;
    }
}
