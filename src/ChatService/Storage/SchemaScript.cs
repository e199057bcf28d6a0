using System.Globalization;
using System.Reflection;

namespace ChatService.Storage;

/// <summary>One versioned DDL file from <c>Storage/Schema</c>, e.g. <c>0001_initial.sql</c>.</summary>
internal sealed record SchemaScript(long Version, string Name, IReadOnlyList<string> Statements)
{
    private const string ResourcePrefix = "Schema.";

    /// <summary>Every embedded schema file, in version order.</summary>
    public static IReadOnlyList<SchemaScript> LoadAll()
    {
        var assembly = typeof(SchemaScript).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Load(assembly, n))
            .OrderBy(s => s.Version)
            .ToList();
    }

    private static SchemaScript Load(Assembly assembly, string resourceName)
    {
        var name = resourceName[ResourcePrefix.Length..];
        var underscore = name.IndexOf('_');
        if (underscore <= 0 || !long.TryParse(name[..underscore], NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidOperationException($"Schema file '{name}' must be named <version>_<description>.sql.");
        }

        using var stream = assembly.GetManifestResourceStream(resourceName)!;
        using var reader = new StreamReader(stream);
        return new SchemaScript(version, name, Split(reader.ReadToEnd()));
    }

    /// <summary>Splits a DDL file into statements: drops <c>--</c> comment lines, splits on semicolons.</summary>
    internal static IReadOnlyList<string> Split(string ddl)
    {
        var withoutComments = string.Join('\n', ddl.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal)));
        return withoutComments.Split(';')
            .Select(s => s.Trim())
            .Where(s => s.Length > 0)
            .ToList();
    }
}
