using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatService.Moderation;

/// <summary>Wires the moderation step: the configured moderator and the gate in front of it.</summary>
public static class ModerationExtensions
{
    /// <summary>The named HTTP client of the OpenAI-compatible moderator.</summary>
    public const string HttpClientName = "moderation";

    public static IHostApplicationBuilder AddModeration(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ModerationOptions>()
            .BindConfiguration(ModerationOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ModerationOptions>, ModerationOptionsValidator>();
        // The gate bounds each check with Moderation:Timeout; the client's own time-out is only a backstop.
        builder.Services.AddHttpClient(HttpClientName, client => client.Timeout = TimeSpan.FromMinutes(1));
        builder.Services.TryAddSingleton<IModerator>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ModerationOptions>>().Value;
            return options.Moderator switch
            {
                ModeratorKind.OpenAI => new OpenAIModerator(sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName), options.OpenAI),
                ModeratorKind.Simulated => new SimulatedModerator(options.Simulated),
                _ => new SimulatedModerator(new SimulatedModeratorOptions()),
            };
        });
        builder.Services.AddSingleton<ModerationGate>();
        return builder;
    }
}
