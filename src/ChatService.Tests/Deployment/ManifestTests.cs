using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Reflection;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using YamlDotNet.RepresentationModel;
using static ChatService.Tests.Deployment.KubernetesManifests;

namespace ChatService.Tests.Deployment;

/// <summary>
/// The Kubernetes manifests agree with the service they deploy: ports are the Kestrel endpoints, probes hit
/// mapped health endpoints that answer, every configured key is a real option that the service accepts, and
/// the shutdown sequence fits in the grace period.
/// </summary>
public sealed class ManifestTests(ChatServiceFixture fixture) : IClassFixture<ChatServiceFixture>
{
    /// <summary>How long ReplyDispatcher.StopAsync waits, after the grace, for abandoned replies to hand over.</summary>
    private static readonly TimeSpan HandOverWait = TimeSpan.FromSeconds(5);

    private readonly KubernetesManifests _manifests = new(Path.Combine(fixture.Stack.RepoRoot, "deploy", "k8s"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Kustomization_ListsEveryManifestInTheDirectory()
    {
        var kustomization = _manifests.Documents["kustomization.yaml"];

        var resources = Sequence(kustomization, "resources").Select(r => ((YamlScalarNode)r).Value ?? "").ToHashSet();

        Assert.Equal(_manifests.Files.Where(f => f != "kustomization.yaml").ToHashSet(), resources);
        Assert.Equal(
            ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Kustomization", "PodDisruptionBudget", "Service", "ServiceAccount"],
            _manifests.Documents.Values.Select(d => Text(d, "kind")).Order());
        // Namespace-agnostic: the namespace comes from kubectl -n or an overlay.
        Assert.All(_manifests.Documents.Values, d => Assert.Null(Find(d, "metadata", "namespace")));
        Assert.Null(Find(kustomization, "namespace"));
    }

    [Fact]
    public async Task Kustomize_RendersEveryResource_WithTheImageSet()
    {
        var kubectl = Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(d => Path.Combine(d, "kubectl")).FirstOrDefault(File.Exists);
        if (kubectl is null)
        {
            Assert.Skip("kubectl is not installed; the YAML is still checked by the other tests.");
        }

        var info = new System.Diagnostics.ProcessStartInfo(kubectl, ["kustomize", _manifests.Directory])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var errors = await process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);

        Assert.True(process.ExitCode == 0, errors);
        var rendered = new YamlStream();
        rendered.Load(new StringReader(await output));
        var kinds = rendered.Documents.Select(d => Text(d.RootNode, "kind")).Order();
        Assert.Equal(["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceAccount"], kinds);
        var deployment = rendered.Documents.Single(d => Text(d.RootNode, "kind") == "Deployment").RootNode;
        var image = Text(Assert.Single(Sequence(deployment, "spec", "template", "spec", "containers")), "image");
        Assert.EndsWith("/chatservice:latest", image);
    }

    [Fact]
    public void ContainerAndServicePorts_AreTheKestrelEndpointsOfAppsettings()
    {
        var endpoints = KestrelEndpoints();
        var containerPorts = ContainerPorts();
        var service = _manifests.Kind("Service");

        Assert.Equal(
            endpoints.Select(e => (e.Key.ToLowerInvariant(), e.Value.Port)).Order(),
            containerPorts.Select(p => (p.Key, p.Value)).Order());
        Assert.Equal("Http2", endpoints["Grpc"].Protocols);
        foreach (var port in Sequence(service, "spec", "ports"))
        {
            var target = Text(port, "targetPort");
            Assert.True(containerPorts.ContainsKey(target), $"Service targetPort {target} is not a container port");
            Assert.Equal(containerPorts[target], Int(port, "port"));
        }

        var grpc = Sequence(service, "spec", "ports").Single(p => Text(p, "name") == "grpc");
        Assert.Equal("kubernetes.io/h2c", Text(grpc, "appProtocol"));
    }

    [Fact]
    public async Task Probes_HitMappedHealthEndpointsOnTheHttp1Port_WhichAnswer200()
    {
        var http1Port = KestrelEndpoints().Single(e => e.Value.Protocols == "Http1").Value.Port;
        var probes = new[] { "startupProbe", "livenessProbe", "readinessProbe" }
            .ToDictionary(p => p, p => Mapping(_manifests.Container, p, "httpGet"));
        using var client = fixture.Factory.CreateClient();

        foreach (var (name, probe) in probes)
        {
            // The kubelet probes with HTTP/1.1, which the h2c-only gRPC port would refuse.
            Assert.True(http1Port == ContainerPorts()[Text(probe, "port")], $"{name} does not probe the HTTP/1.1 port {http1Port}");
            using var response = await client.GetAsync(Text(probe, "path"), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name} {Text(probe, "path")} answered {(int)response.StatusCode}");
        }

        // Readiness is the check that includes Spanner; liveness must not (a Spanner outage should not restart pods).
        Assert.Equal("/healthz/ready", Text(probes["readinessProbe"], "path"));
        Assert.Equal("/healthz/live", Text(probes["livenessProbe"], "path"));
    }

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

    [Fact]
    public void TerminationGracePeriod_CoversPreStopAndTheDispatchersShutdown()
    {
        var settings = ProductionSettings();
        var grace = settings.TryGetValue("Dispatch:ShutdownGrace", out var configured)
            ? TimeSpan.Parse(configured, System.Globalization.CultureInfo.InvariantCulture)
            : new ChatService.Dispatch.DispatchOptions().ShutdownGrace;
        var preStop = TimeSpan.FromSeconds(Int(_manifests.Container, "lifecycle", "preStop", "sleep", "seconds"));
        var period = TimeSpan.FromSeconds(Int(_manifests.PodSpec, "terminationGracePeriodSeconds"));

        // After the preStop sleep comes SIGTERM; the dispatcher then waits up to the grace, then up to
        // HandOverWait for the rest to hand over; what is left is a few seconds of session clean-up.
        var needed = preStop + grace + HandOverWait + TimeSpan.FromSeconds(5);
        Assert.True(period >= needed, $"terminationGracePeriodSeconds {period.TotalSeconds} < {needed.TotalSeconds} needed");
    }

    [Fact]
    public async Task Deployment_RunsAsTheImagesNonRootUser_WithAReadOnlyRootFilesystem()
    {
        var pod = Mapping(_manifests.PodSpec, "securityContext");
        var container = Mapping(_manifests.Container, "securityContext");
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(fixture.Stack.RepoRoot, "Dockerfile"), Ct);

        Assert.Equal("true", Text(pod, "runAsNonRoot"));
        // 1654 is APP_UID in the .NET images; the Dockerfile switches to it.
        Assert.Equal("1654", Text(pod, "runAsUser"));
        Assert.Contains("USER $APP_UID", dockerfile);
        Assert.Equal("true", Text(container, "readOnlyRootFilesystem"));
        Assert.Equal("false", Text(container, "allowPrivilegeEscalation"));
        Assert.Equal(["ALL"], Sequence(container, "capabilities", "drop").Select(n => ((YamlScalarNode)n).Value));
        var tmp = Sequence(_manifests.Container, "volumeMounts").Single(m => Text(m, "mountPath") == "/tmp");
        var volume = Sequence(_manifests.PodSpec, "volumes").Single(v => Text(v, "name") == Text(tmp, "name"));
        Assert.NotNull(Find(volume, "emptyDir"));
    }

    [Fact]
    public void ServicePdbAndHpa_PointAtTheDeploymentsPods()
    {
        var deployment = _manifests.Kind("Deployment");
        var podLabels = Scalars(deployment, "spec", "template", "metadata", "labels");
        var name = Text(deployment, "metadata", "name");

        Assert.Subset(podLabels.ToHashSet(), Scalars(deployment, "spec", "selector", "matchLabels").ToHashSet());
        Assert.Subset(podLabels.ToHashSet(), Scalars(_manifests.Kind("Service"), "spec", "selector").ToHashSet());
        Assert.Subset(podLabels.ToHashSet(), Scalars(_manifests.Kind("PodDisruptionBudget"), "spec", "selector", "matchLabels").ToHashSet());
        var hpa = _manifests.Kind("HorizontalPodAutoscaler");
        Assert.Equal(("Deployment", name), (Text(hpa, "spec", "scaleTargetRef", "kind"), Text(hpa, "spec", "scaleTargetRef", "name")));
        Assert.Contains(Sequence(hpa, "spec", "metrics"), m => TextOrNull(m, "resource", "name") == "cpu");
        Assert.True(Int(hpa, "spec", "minReplicas") >= 2, "one replica cannot hand over to another");
        Assert.Equal(Text(_manifests.Kind("ServiceAccount"), "metadata", "name"), Text(_manifests.PodSpec, "serviceAccountName"));
        Assert.Equal(
            Text(_manifests.Kind("ConfigMap"), "metadata", "name"),
            Text(Assert.Single(Sequence(_manifests.Container, "envFrom")), "configMapRef", "name"));
    }

    [Fact]
    public void Resources_RequestCpuAndMemory_AndTheMemoryLimitCoversTheRequest()
    {
        var resources = Mapping(_manifests.Container, "resources");

        Assert.True(Quantity(Text(resources, "requests", "cpu")) > 0);
        var request = Quantity(Text(resources, "requests", "memory"));
        var limit = Quantity(Text(resources, "limits", "memory"));
        Assert.True(limit >= request, "the memory limit is below the request");
        // BENCHMARKS.md: ~470 MiB for 10,000 open reply streams; leave the GC room above that.
        Assert.True(limit >= 768 * 1024 * 1024, "the memory limit leaves no room for 10,000 open streams");
    }

    /// <summary>The configuration keys the pod gets (ConfigMap data and container env), as Section:Key.</summary>
    private Dictionary<string, string> ProductionSettings()
    {
        var settings = Scalars(_manifests.Kind("ConfigMap"), "data");
        foreach (var env in Sequence(_manifests.Container, "env"))
        {
            settings[Text(env, "name")] = TextOrNull(env, "value") ?? "from-a-secret";
        }

        return settings.ToDictionary(s => s.Key.Replace("__", ":", StringComparison.Ordinal), s => s.Value);
    }

    private Dictionary<string, int> ContainerPorts() =>
        Sequence(_manifests.Container, "ports").ToDictionary(p => Text(p, "name"), p => Int(p, "containerPort"));

    private Dictionary<string, (int Port, string Protocols)> KestrelEndpoints()
    {
        using var appsettings = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Stack.RepoRoot, "src", "ChatService", "appsettings.json")));
        return appsettings.RootElement.GetProperty("Kestrel").GetProperty("Endpoints").EnumerateObject().ToDictionary(
            e => e.Name,
            e => (new Uri(e.Value.GetProperty("Url").GetString()!.Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port,
                e.Value.GetProperty("Protocols").GetString()!));
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
