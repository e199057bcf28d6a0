namespace ChatService.Limits;

/// <summary>Wires the per-user limits.</summary>
public static class LimitsExtensions
{
    public static IHostApplicationBuilder AddUserLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>()
            .BindConfiguration(LimitsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<UserLimiter>();
        return builder;
    }
}
