using YamlDotNet.RepresentationModel;
using static ChatService.Tests.Deployment.KubernetesManifests;

namespace ChatService.Tests.Deployment;

public sealed partial class ManifestTests
{
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
}
