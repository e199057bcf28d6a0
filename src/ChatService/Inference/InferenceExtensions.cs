using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatService.Inference;

/// <summary>Wires the model backends and the router.</summary>
public static class InferenceExtensions
{
    /// <summary>
    /// Binds <see cref="InferenceOptions"/> from the <c>Inference</c> section (with a simulated
    /// backend and a <c>default</c> route when it is absent), validates them on start and
    /// registers the <see cref="ModelRouter"/>, which owns the backends.
    /// </summary>
    public static IHostApplicationBuilder AddInference(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<InferenceOptions>()
            .BindConfiguration(InferenceOptions.Section)
            .PostConfigure(options => options.ApplyDefaults())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferenceOptions>, InferenceOptionsValidator>());
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new ModelRouter(
            sp.GetRequiredService<IOptions<InferenceOptions>>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ModelRouter>>()));
        return builder;
    }
}
