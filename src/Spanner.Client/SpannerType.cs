namespace Spanner.Client;

/// <summary>A Spanner (GoogleSQL) column or parameter type.</summary>
public sealed record SpannerType
{
    private SpannerType(V1.TypeCode code, SpannerType? elementType)
    {
        Code = code;
        ElementType = elementType;
    }

    /// <summary>BOOL.</summary>
    public static SpannerType Bool { get; } = new(V1.TypeCode.Bool, null);

    /// <summary>INT64.</summary>
    public static SpannerType Int64 { get; } = new(V1.TypeCode.Int64, null);

    /// <summary>FLOAT64.</summary>
    public static SpannerType Float64 { get; } = new(V1.TypeCode.Float64, null);

    /// <summary>STRING.</summary>
    public static SpannerType String { get; } = new(V1.TypeCode.String, null);

    /// <summary>BYTES.</summary>
    public static SpannerType Bytes { get; } = new(V1.TypeCode.Bytes, null);

    /// <summary>TIMESTAMP.</summary>
    public static SpannerType Timestamp { get; } = new(V1.TypeCode.Timestamp, null);

    /// <summary>DATE.</summary>
    public static SpannerType Date { get; } = new(V1.TypeCode.Date, null);

    /// <summary>JSON.</summary>
    public static SpannerType Json { get; } = new(V1.TypeCode.Json, null);

    /// <summary>NUMERIC.</summary>
    public static SpannerType Numeric { get; } = new(V1.TypeCode.Numeric, null);

    internal V1.TypeCode Code { get; }

    internal SpannerType? ElementType { get; }

    /// <summary>ARRAY of <paramref name="element"/>. Arrays of arrays are not allowed by Spanner.</summary>
    public static SpannerType ArrayOf(SpannerType element)
    {
        ArgumentNullException.ThrowIfNull(element);
        if (element.Code == V1.TypeCode.Array)
        {
            throw new ArgumentException("Spanner does not support arrays of arrays.", nameof(element));
        }

        return new SpannerType(V1.TypeCode.Array, element);
    }

    /// <summary>The GoogleSQL spelling, e.g. <c>ARRAY&lt;STRING&gt;</c>.</summary>
    public override string ToString() =>
        ElementType is null ? Code.ToString().ToUpperInvariant() : $"ARRAY<{ElementType}>";

    internal V1.Type ToProto()
    {
        var type = new V1.Type { Code = Code };
        if (ElementType is not null)
        {
            type.ArrayElementType = ElementType.ToProto();
        }

        return type;
    }

    internal static SpannerType FromProto(V1.Type type) => type.Code switch
    {
        V1.TypeCode.Bool => Bool,
        V1.TypeCode.Int64 => Int64,
        V1.TypeCode.Float64 => Float64,
        V1.TypeCode.String => String,
        V1.TypeCode.Bytes => Bytes,
        V1.TypeCode.Timestamp => Timestamp,
        V1.TypeCode.Date => Date,
        V1.TypeCode.Json => Json,
        V1.TypeCode.Numeric => Numeric,
        V1.TypeCode.Array when type.ArrayElementType is not null => ArrayOf(FromProto(type.ArrayElementType)),
        _ => new SpannerType(type.Code, null),
    };
}
