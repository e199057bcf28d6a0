using System.Net;
using System.Text.Json;
using ChatService.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;
using static ChatService.Tests.Deployment.KubernetesManifests;

namespace ChatService.Tests.Deployment;

/// <summary>
/// The Kubernetes manifests agree with the service they deploy: ports are the Kestrel endpoints, probes hit
/// mapped health endpoints that answer, every configured key is a real option that the service accepts, and
/// the shutdown sequence fits in the grace period.
/// </summary>
public sealed partial class ManifestTests(ChatServiceFixture fixture) : IClassFixture<ChatServiceFixture>
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
}
