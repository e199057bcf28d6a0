using System.Reflection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static ChatService.Tests.Deployment.KubernetesManifests;

namespace ChatService.Tests.Deployment;

public sealed partial class ManifestTests
{
    [Fact]
    public void EveryConfiguredKey_NamesARealOption()
    {
        var sections = OptionsSections();
        var settings = ProductionSettings();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build();

        foreach (var (key, value) in settings)
        {
            var section = key.Split(':')[0];
            if (section is "ASPNETCORE_ENVIRONMENT" or "Logging")
            {
                AssertHostSetting(key, value);
                continue;
            }

            Assert.True(sections.ContainsKey(section),
                $"'{key}' is in no options section; the service binds {string.Join(", ", sections.Keys.Order())}");
        }

        foreach (var section in settings.Keys.Select(k => k.Split(':')[0]).Distinct().Where(sections.ContainsKey))
        {
            // Throws on a key no property takes (a typo binds to nothing and is silently ignored otherwise)
            // and on a value that does not convert.
            var bound = configuration.GetSection(section).Get(sections[section], o => o.ErrorOnUnknownConfiguration = true);
            Assert.NotNull(bound);
        }
    }

    [Fact]
    public async Task TheServiceStartsWithTheProductionSettings_AndValidatesThem()
    {
        var settings = ProductionSettings();
        // The CA bundle comes from a mounted volume; stand a real one in for it here.
        var caPath = settings["Redis:CaCertificatePath"];
        var mounts = Sequence(_manifests.Container, "volumeMounts").Select(m => Text(m, "mountPath")).ToList();
        Assert.Contains(mounts, m => caPath.StartsWith(m + "/", StringComparison.Ordinal));
        using var authority = new TestCertificateAuthority("stand-in redis CA");
        var directory = Directory.CreateTempSubdirectory("manifest-ca-").FullName;
        settings["Redis:CaCertificatePath"] = authority.WriteCertificate(directory, "server-ca.pem");

        try
        {
            await using var production = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
            {
                builder.UseEnvironment(settings["ASPNETCORE_ENVIRONMENT"]);
                builder.ConfigureAppConfiguration((_, config) => config.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))));
                builder.ConfigureLogging(logging => logging.ClearProviders());
                // Start the host (options validation runs at start) without the work that needs real Spanner and Redis.
                builder.ConfigureServices(services =>
                {
                    foreach (var hosted in services.Where(d => d.ServiceType == typeof(IHostedService) && !IsWebServer(d)).ToList())
                    {
                        services.Remove(hosted);
                    }
                });
            });

            var services = production.Services;

            var dispatch = services.GetRequiredService<IOptions<ChatService.Dispatch.DispatchOptions>>().Value;
            Assert.Equal(TimeSpan.Parse(settings["Dispatch:ShutdownGrace"], System.Globalization.CultureInfo.InvariantCulture), dispatch.ShutdownGrace);
            Assert.Equal("PROJECT_ID", services.GetRequiredService<IOptions<ChatService.Storage.SpannerOptions>>().Value.ProjectId);
            var host = services.GetRequiredService<IOptions<HostOptions>>().Value;
            Assert.True(host.ShutdownTimeout >= dispatch.ShutdownGrace + HandOverWait,
                $"the host stops waiting after {host.ShutdownTimeout}, before the dispatcher's {dispatch.ShutdownGrace} + {HandOverWait}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void ProductionSettings_UseRealSpanner()
    {
        var settings = ProductionSettings();

        Assert.Equal("Production", settings["ASPNETCORE_ENVIRONMENT"]);
        Assert.DoesNotContain("SPANNER_EMULATOR_HOST", settings.Keys);
        Assert.DoesNotContain("Spanner:EmulatorHost", settings.Keys);
        Assert.DoesNotContain("Spanner:CreateIfMissing", settings.Keys);
    }

    /// <summary>The configuration keys the pod gets (ConfigMap data and container env), as Section:Key.</summary>
    private Dictionary<string, string> ProductionSettings()
    {
        var settings = Scalars(_manifests.Kind("ConfigMap"), "data");
        foreach (var env in Sequence(_manifests.Container, "env"))
        {
            // A stand-in as long as a real secret would be (DataDeletion:UserKeySecret needs 32 characters).
            settings[Text(env, "name")] = TextOrNull(env, "value") ?? "stand-in-for-a-value-from-a-secret";
        }

        return settings.ToDictionary(s => s.Key.Replace("__", ":", StringComparison.Ordinal), s => s.Value);
    }

    /// <summary>Every options class of the service, by the configuration section it binds (its <c>Section</c> constant).</summary>
    private static Dictionary<string, Type> OptionsSections() =>
        typeof(Program).Assembly.GetTypes()
            .Select(t => (Type: t, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string))
            .ToDictionary(x => (string)x.Field!.GetRawConstantValue()!, x => x.Type);

    private static void AssertHostSetting(string key, string value)
    {
        if (key == "ASPNETCORE_ENVIRONMENT")
        {
            return;
        }

        if (key.StartsWith("Logging:LogLevel:", StringComparison.Ordinal))
        {
            Assert.True(Enum.TryParse<LogLevel>(value, out _), $"{key}={value} is not a log level");
        }
        else
        {
            Assert.True(key == "Logging:Console:FormatterName" && value is "simple" or "json" or "systemd", $"{key}={value} is not a logging setting this service uses");
        }
    }

    private static bool IsWebServer(ServiceDescriptor descriptor) =>
        descriptor.ImplementationType?.Assembly.GetName().Name == "Microsoft.AspNetCore.Hosting";
}
