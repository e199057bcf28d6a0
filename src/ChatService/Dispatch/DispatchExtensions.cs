namespace ChatService.Dispatch;

/// <summary>Wires the reply pipeline: owned replies, mirrors of replies owned elsewhere, queue and workers, recovery.</summary>
public static class DispatchExtensions
{
    public static IHostApplicationBuilder AddReplyDispatch(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DispatchOptions>()
            .BindConfiguration(DispatchOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddHostedService<PromptBudgetReport>();
        builder.Services.AddSingleton<SettleGate>();
        builder.Services.AddSingleton<SweepTrigger>();
        builder.Services.AddSingleton<ReplyServices>();
        builder.Services.AddSingleton<ReplyHub>();
        builder.Services.AddSingleton<ReplyMirrors>();
        builder.Services.AddSingleton<ReplyDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReplyDispatcher>());
        builder.Services.AddSingleton<RecoverySweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RecoverySweeper>());
        builder.Services.AddSingleton<ReplyPipeline>();
        builder.Services.AddSingleton<ChatShaping>();
        return builder;
    }
}
