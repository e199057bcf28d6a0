namespace ChatService.Privacy;

/// <summary>Wires DeleteMyData: its store, its runner and the sweep that finishes deletions whose caller went away.</summary>
public static class PrivacyExtensions
{
    public static IHostApplicationBuilder AddDataDeletion(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DataDeletionOptions>()
            .BindConfiguration(DataDeletionOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<Storage.DataDeletionStore>();
        builder.Services.AddSingleton<DataDeletionRunner>();
        builder.Services.AddSingleton<DataDeletionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DataDeletionSweeper>());
        return builder;
    }
}
