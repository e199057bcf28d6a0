namespace Spanner.Client.Internal;

/// <summary>Column names and types of a result set, shared by all its rows.</summary>
internal sealed class ResultMetadata
{
    private readonly Dictionary<string, int> _ordinals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _ordinalsIgnoreCase = new(StringComparer.OrdinalIgnoreCase);

    public ResultMetadata(V1.StructType rowType)
    {
        Names = rowType.Fields.Select(f => f.Name).ToArray();
        Types = rowType.Fields.Select(f => SpannerType.FromProto(f.Type ?? new V1.Type())).ToArray();
        for (var i = 0; i < Names.Length; i++)
        {
            // The first column of a name wins, as in SQL result readers.
            _ordinals.TryAdd(Names[i], i);
            _ordinalsIgnoreCase.TryAdd(Names[i], i);
        }
    }

    public string[] Names { get; }

    public SpannerType[] Types { get; }

    public int FieldCount => Names.Length;

    public int GetOrdinal(string name) =>
        _ordinals.TryGetValue(name, out var ordinal) || _ordinalsIgnoreCase.TryGetValue(name, out ordinal)
            ? ordinal
            : throw new ArgumentException($"The result has no column named '{name}'.", nameof(name));
}
