using Google.Protobuf.WellKnownTypes;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>One row of a query result.</summary>
public sealed class SpannerRow
{
    private readonly ResultMetadata _metadata;
    private readonly Value[] _values;

    internal SpannerRow(ResultMetadata metadata, Value[] values)
    {
        _metadata = metadata;
        _values = values;
    }

    /// <summary>The number of columns.</summary>
    public int FieldCount => _metadata.FieldCount;

    /// <summary>The name of the column at <paramref name="ordinal"/> (may be empty for unnamed expressions).</summary>
    public string GetName(int ordinal) => _metadata.Names[ordinal];

    /// <summary>The position of the column named <paramref name="name"/> (exact match first, then case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such column.</exception>
    public int GetOrdinal(string name) => _metadata.GetOrdinal(name);

    /// <summary>True if the value at <paramref name="ordinal"/> is NULL.</summary>
    public bool IsNull(int ordinal) => _values[ordinal].KindCase == Value.KindOneofCase.NullValue;

    /// <summary>True if the value of column <paramref name="name"/> is NULL.</summary>
    public bool IsNull(string name) => IsNull(GetOrdinal(name));

    /// <summary>
    /// The value at <paramref name="ordinal"/> as <typeparamref name="T"/>: string, long, int, bool, double, decimal (NUMERIC),
    /// byte[], DateTimeOffset, DateTime (UTC), DateOnly, List&lt;string&gt;, List&lt;long&gt;, List&lt;byte[]&gt;, their
    /// nullable forms, or object (natural type). NULL reads as null for reference and nullable types.
    /// </summary>
    /// <exception cref="InvalidCastException">The value is NULL and <typeparamref name="T"/> is a non-nullable value type,
    /// or the column's type cannot be read as <typeparamref name="T"/>; the message names the column.</exception>
    public T Get<T>(int ordinal) =>
        ValueCodec.DecodeAs<T>(_values[ordinal], _metadata.Types[ordinal], ColumnLabel(ordinal));

    /// <summary>The value of column <paramref name="name"/> as <typeparamref name="T"/>; see <see cref="Get{T}(int)"/>.</summary>
    public T Get<T>(string name) => Get<T>(GetOrdinal(name));

    /// <inheritdoc/>
    public override string ToString() =>
        "{" + string.Join(", ", Enumerable.Range(0, FieldCount).Select(i => $"{ColumnLabel(i)}: {_values[i]}")) + "}";

    private string ColumnLabel(int ordinal) =>
        _metadata.Names[ordinal] is { Length: > 0 } name ? name : $"#{ordinal}";
}
