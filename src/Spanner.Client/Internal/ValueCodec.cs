using System.Collections;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Spanner.Client.Internal;

/// <summary>
/// Encodes CLR values as the JSON-style <see cref="Value"/>s Spanner expects (see the TypeCode docs of
/// google.spanner.v1): INT64 as a decimal string, FLOAT64 as a number (NaN/±Infinity as strings), BYTES as
/// base64, TIMESTAMP as RFC 3339 UTC ("Z"), DATE as yyyy-MM-dd, NUMERIC/JSON as strings, ARRAY as a list.
/// </summary>
internal static partial class ValueCodec
{
    internal const string CommitTimestampPlaceholder = "spanner.commit_timestamp()";

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";
    private const string DateFormat = "yyyy-MM-dd";

    /// <summary>The Spanner type a CLR value maps to when no type is given.</summary>
    public static SpannerType InferType(object value) => value switch
    {
        string => SpannerType.String,
        long or int or short or sbyte or byte or ushort or uint => SpannerType.Int64,
        bool => SpannerType.Bool,
        double or float => SpannerType.Float64,
        decimal => SpannerType.Numeric,
        byte[] or ReadOnlyMemory<byte> => SpannerType.Bytes,
        DateTimeOffset or DateTime or SpannerCommitTimestamp => SpannerType.Timestamp,
        DateOnly => SpannerType.Date,
        IEnumerable<string?> => SpannerType.ArrayOf(SpannerType.String),
        IEnumerable<long> or IEnumerable<long?> or IEnumerable<int> => SpannerType.ArrayOf(SpannerType.Int64),
        IEnumerable<byte[]?> => SpannerType.ArrayOf(SpannerType.Bytes),
        IEnumerable<bool> or IEnumerable<bool?> => SpannerType.ArrayOf(SpannerType.Bool),
        IEnumerable<double> or IEnumerable<double?> => SpannerType.ArrayOf(SpannerType.Float64),
        IEnumerable<DateTimeOffset> or IEnumerable<DateTimeOffset?> => SpannerType.ArrayOf(SpannerType.Timestamp),
        IEnumerable<DateOnly> or IEnumerable<DateOnly?> => SpannerType.ArrayOf(SpannerType.Date),
        _ => throw new ArgumentException(
            $"Cannot infer a Spanner type from {value.GetType()}; pass a SpannerType explicitly."),
    };

    /// <summary>Encodes a value whose type is inferred from its CLR type; null becomes NULL.</summary>
    public static Value EncodeInferred(object? value) =>
        value is null or DBNull ? Value.ForNull() : Encode(value, InferType(value));

    /// <summary>Encodes <paramref name="value"/> as <paramref name="type"/>; null becomes a (typed) NULL.</summary>
    public static Value Encode(object? value, SpannerType type)
    {
        if (value is null or DBNull)
        {
            return Value.ForNull();
        }

        return type.Code switch
        {
            V1.TypeCode.Bool when value is bool b => Value.ForBool(b),
            V1.TypeCode.Int64 => Value.ForString(ToInt64(value).ToString(CultureInfo.InvariantCulture)),
            V1.TypeCode.Float64 => EncodeFloat64(ToDouble(value)),
            V1.TypeCode.String or V1.TypeCode.Json when value is string s => Value.ForString(s),
            V1.TypeCode.Numeric when value is decimal d => Value.ForString(d.ToString(CultureInfo.InvariantCulture)),
            V1.TypeCode.Numeric when value is string s => Value.ForString(s),
            V1.TypeCode.Bytes when value is byte[] bytes => Value.ForString(Convert.ToBase64String(bytes)),
            V1.TypeCode.Bytes when value is ReadOnlyMemory<byte> memory => Value.ForString(Convert.ToBase64String(memory.Span)),
            V1.TypeCode.Timestamp when value is SpannerCommitTimestamp => Value.ForString(CommitTimestampPlaceholder),
            V1.TypeCode.Timestamp => Value.ForString(FormatTimestamp(ToTimestamp(value))),
            V1.TypeCode.Date when value is DateOnly date => Value.ForString(date.ToString(DateFormat, CultureInfo.InvariantCulture)),
            V1.TypeCode.Date when value is DateTime dateTime => Value.ForString(dateTime.ToString(DateFormat, CultureInfo.InvariantCulture)),
            V1.TypeCode.Array when value is IEnumerable items && value is not string => EncodeArray(items, type.ElementType!),
            _ => throw Mismatch(value, type),
        };
    }

    /// <summary>RFC 3339 in UTC with up to 7 fractional digits (the resolution of .NET ticks) and a "Z".</summary>
    public static string FormatTimestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    private static Value EncodeArray(IEnumerable items, SpannerType elementType)
    {
        var list = new ListValue();
        foreach (var item in items)
        {
            list.Values.Add(Encode(item, elementType));
        }

        return new Value { ListValue = list };
    }

    private static Value EncodeFloat64(double value) => value switch
    {
        double.NaN => Value.ForString("NaN"),
        double.PositiveInfinity => Value.ForString("Infinity"),
        double.NegativeInfinity => Value.ForString("-Infinity"),
        _ => Value.ForNumber(value),
    };

    private static long ToInt64(object value) => value switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte sb => sb,
        byte b => b,
        ushort us => us,
        uint ui => ui,
        ulong ul => checked((long)ul),
        System.Enum e => Convert.ToInt64(e, CultureInfo.InvariantCulture),
        _ => throw Mismatch(value, SpannerType.Int64),
    };

    private static double ToDouble(object value) => value switch
    {
        double d => d,
        float f => f,
        decimal m => (double)m,
        long or int or short or sbyte or byte or ushort or uint => ToInt64(value),
        _ => throw Mismatch(value, SpannerType.Float64),
    };

    private static DateTimeOffset ToTimestamp(object value) => value switch
    {
        DateTimeOffset dto => dto,
        DateTime { Kind: DateTimeKind.Utc } utc => new DateTimeOffset(utc),
        DateTime { Kind: DateTimeKind.Local } local => new DateTimeOffset(local.ToUniversalTime()),
        DateTime => throw new ArgumentException(
            "DateTime values need DateTimeKind.Utc (or Local); an Unspecified kind is ambiguous. Use DateTimeOffset."),
        _ => throw Mismatch(value, SpannerType.Timestamp),
    };

    private static ArgumentException Mismatch(object value, SpannerType type) =>
        new($"A {value.GetType()} value cannot be encoded as Spanner {type}.");
}
