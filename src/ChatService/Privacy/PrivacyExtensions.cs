namespace ChatService.Privacy;

/// <summary>Wires DeleteMyData: its store, its runner and the sweep that finishes deletions whose caller went away.</summary>
public static class PrivacyExtensions
{
    public static IHostApplicationBuilder AddDataDeletion(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DataDeletionOptions>()
            .BindConfiguration(DataDeletionOptions.Section)
            .ValidateDataAnnotations()
            // The development secret is public: anywhere but Development the service refuses to start without
            // a real one (as Auth refuses to start without token settings unless its development switch is on).
            .Validate(
                o => o.UserKeySecret is not null || builder.Environment.IsDevelopment(),
                $"{DataDeletionOptions.Section}:UserKeySecret is required outside Development (at least 32 characters, from a Secret): the default is a public development secret")
            .ValidateOnStart();
        builder.Services.AddSingleton<Storage.DataDeletionStore>();
        builder.Services.AddSingleton<DataDeletionRunner>();
        builder.Services.AddSingleton<DataDeletionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DataDeletionSweeper>());
        return builder;
    }
}
