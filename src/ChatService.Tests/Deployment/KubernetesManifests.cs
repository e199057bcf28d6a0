using YamlDotNet.RepresentationModel;

namespace ChatService.Tests.Deployment;

/// <summary>The manifests under deploy/k8s, parsed with a real YAML parser, with small helpers to walk them.</summary>
internal sealed class KubernetesManifests
{
    private readonly Dictionary<string, YamlMappingNode> _byKind;

    public KubernetesManifests(string directory)
    {
        Directory = directory;
        Files = System.IO.Directory.GetFiles(directory, "*.yaml").Select(Path.GetFileName).OfType<string>().Order().ToList();
        Documents = Files.ToDictionary(f => f, f => Load(Path.Combine(directory, f)));
        _byKind = Documents.Values.ToDictionary(d => Text(d, "kind"));
    }

    public string Directory { get; }

    public IReadOnlyList<string> Files { get; }

    public IReadOnlyDictionary<string, YamlMappingNode> Documents { get; }

    public YamlMappingNode Kind(string kind) =>
        _byKind.TryGetValue(kind, out var document) ? document : throw new InvalidOperationException($"no {kind} in {Directory}");

    /// <summary>The Deployment's only container.</summary>
    public YamlMappingNode Container => (YamlMappingNode)Assert.Single(Sequence(Kind("Deployment"), "spec", "template", "spec", "containers"));

    public YamlMappingNode PodSpec => Mapping(Kind("Deployment"), "spec", "template", "spec");

    public static YamlNode? Find(YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    public static YamlMappingNode Mapping(YamlNode node, params string[] path) =>
        Find(node, path) as YamlMappingNode ?? throw new InvalidOperationException($"no mapping at {string.Join('.', path)}");

    public static IReadOnlyList<YamlNode> Sequence(YamlNode node, params string[] path) =>
        Find(node, path) is YamlSequenceNode sequence ? [.. sequence.Children] : [];

    public static string Text(YamlNode node, params string[] path) =>
        (Find(node, path) as YamlScalarNode)?.Value ?? throw new InvalidOperationException($"no scalar at {string.Join('.', path)}");

    public static string? TextOrNull(YamlNode node, params string[] path) => (Find(node, path) as YamlScalarNode)?.Value;

    public static int Int(YamlNode node, params string[] path) => int.Parse(Text(node, path), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A mapping of scalars (labels, selectors, ConfigMap data) as a dictionary.</summary>
    public static Dictionary<string, string> Scalars(YamlNode node, params string[] path) =>
        Mapping(node, path).Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ((YamlScalarNode)c.Value).Value ?? "");

    /// <summary>A Kubernetes quantity (<c>768Mi</c>, <c>1Gi</c>, <c>500m</c>, <c>2</c>) in its base unit.</summary>
    public static double Quantity(string quantity)
    {
        var suffixes = new (string Suffix, double Factor)[]
        {
            ("Ki", 1024), ("Mi", 1024d * 1024), ("Gi", 1024d * 1024 * 1024), ("m", 0.001), ("k", 1e3), ("M", 1e6), ("G", 1e9),
        };
        foreach (var (suffix, factor) in suffixes)
        {
            if (quantity.EndsWith(suffix, StringComparison.Ordinal))
            {
                return double.Parse(quantity[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture) * factor;
            }
        }

        return double.Parse(quantity, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static YamlMappingNode Load(string path)
    {
        using var reader = new StreamReader(path);
        var stream = new YamlStream();
        stream.Load(reader);
        var document = Assert.Single(stream.Documents);
        return Assert.IsType<YamlMappingNode>(document.RootNode);
    }
}
