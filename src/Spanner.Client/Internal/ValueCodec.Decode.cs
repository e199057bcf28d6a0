using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Spanner.Client.Internal;

internal static partial class ValueCodec
{
    /// <summary>Decodes a value to its natural CLR type (long, double, string, byte[], DateTimeOffset, DateOnly, List&lt;object?&gt;...).</summary>
    public static object? Decode(Value value, SpannerType type)
    {
        if (value.KindCase == Value.KindOneofCase.NullValue)
        {
            return null;
        }

        return type.Code switch
        {
            V1.TypeCode.Bool => value.BoolValue,
            V1.TypeCode.Int64 => DecodeInt64(value),
            V1.TypeCode.Float64 => DecodeFloat64(value),
            V1.TypeCode.Bytes => Convert.FromBase64String(value.StringValue),
            V1.TypeCode.Timestamp => ParseTimestamp(value.StringValue),
            V1.TypeCode.Date => ParseDate(value.StringValue),
            V1.TypeCode.Array => value.ListValue.Values.Select(v => Decode(v, type.ElementType!)).ToList(),
            _ => value.KindCase == Value.KindOneofCase.StringValue ? value.StringValue : value.ToString(),
        };
    }

    /// <summary>
    /// Decodes to <typeparamref name="T"/>. NULL becomes null for reference and nullable types; a
    /// non-nullable value type on NULL, or a type that does not fit the column, throws InvalidCastException.
    /// </summary>
    public static T DecodeAs<T>(Value value, SpannerType type, string column)
    {
        if (value.KindCase == Value.KindOneofCase.NullValue)
        {
            if (default(T) is null)
            {
                return default!;
            }

            throw new InvalidCastException(
                $"Column '{column}' is NULL; read it as {typeof(T).Name}? (a nullable type) instead.");
        }

        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            return (T)DecodeTo(target, value, type, column);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            throw new InvalidCastException($"Column '{column}' ({type}) cannot be read as {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private static object DecodeTo(System.Type target, Value value, SpannerType type, string column)
    {
        if (target == typeof(object))
        {
            return Decode(value, type)!;
        }

        if (target == typeof(string))
        {
            Expect(type, column, target, V1.TypeCode.String, V1.TypeCode.Json, V1.TypeCode.Numeric, V1.TypeCode.Int64, V1.TypeCode.Date, V1.TypeCode.Timestamp);
            return value.StringValue;
        }

        if (target == typeof(long) || target == typeof(int))
        {
            Expect(type, column, target, V1.TypeCode.Int64);
            var number = DecodeInt64(value);
            return target == typeof(int) ? checked((int)number) : (object)number;
        }

        if (target == typeof(bool))
        {
            Expect(type, column, target, V1.TypeCode.Bool);
            return value.BoolValue;
        }

        if (target == typeof(double))
        {
            Expect(type, column, target, V1.TypeCode.Float64, V1.TypeCode.Int64);
            return type.Code == V1.TypeCode.Int64 ? DecodeInt64(value) : DecodeFloat64(value);
        }

        if (target == typeof(decimal))
        {
            Expect(type, column, target, V1.TypeCode.Numeric);
            return decimal.Parse(value.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        if (target == typeof(byte[]))
        {
            Expect(type, column, target, V1.TypeCode.Bytes);
            return Convert.FromBase64String(value.StringValue);
        }

        if (target == typeof(DateTimeOffset))
        {
            Expect(type, column, target, V1.TypeCode.Timestamp);
            return ParseTimestamp(value.StringValue);
        }

        if (target == typeof(DateTime))
        {
            Expect(type, column, target, V1.TypeCode.Timestamp, V1.TypeCode.Date);
            return type.Code == V1.TypeCode.Date
                ? ParseDate(value.StringValue).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)
                : ParseTimestamp(value.StringValue).UtcDateTime;
        }

        if (target == typeof(DateOnly))
        {
            Expect(type, column, target, V1.TypeCode.Date);
            return ParseDate(value.StringValue);
        }

        if (target == typeof(List<string>))
        {
            ExpectArray(type, column, target, V1.TypeCode.String, V1.TypeCode.Json, V1.TypeCode.Numeric);
            return value.ListValue.Values.Select(v => v.KindCase == Value.KindOneofCase.NullValue ? null! : v.StringValue).ToList();
        }

        if (target == typeof(List<long>))
        {
            ExpectArray(type, column, target, V1.TypeCode.Int64);
            return value.ListValue.Values.Select(v => DecodeAs<long>(v, SpannerType.Int64, column)).ToList();
        }

        if (target == typeof(List<byte[]>))
        {
            ExpectArray(type, column, target, V1.TypeCode.Bytes);
            return value.ListValue.Values.Select(v => DecodeAs<byte[]>(v, SpannerType.Bytes, column)).ToList();
        }

        throw new InvalidCastException($"Reading column '{column}' as {target} is not supported.");
    }

    public static DateTimeOffset ParseTimestamp(string text)
    {
        if (!text.EndsWith('Z'))
        {
            return DateTimeOffset.Parse(text, CultureInfo.InvariantCulture).ToUniversalTime();
        }

        var body = text.AsSpan(0, text.Length - 1);
        var dot = body.IndexOf('.');
        var seconds = dot < 0 ? body : body[..dot];
        var utc = DateTime.ParseExact(
            seconds, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        long ticks = 0;
        if (dot >= 0)
        {
            // Spanner sends up to 9 fractional digits; .NET keeps 7 (100 ns), so the rest is truncated.
            var fraction = body[(dot + 1)..];
            if (fraction.Length is 0 or > 9 || fraction.ContainsAnyExceptInRange('0', '9'))
            {
                throw new FormatException($"Invalid fractional seconds in timestamp '{text}'.");
            }

            for (var i = 0; i < 7; i++)
            {
                ticks = (ticks * 10) + (i < fraction.Length ? fraction[i] - '0' : 0);
            }
        }

        return new DateTimeOffset(utc.Ticks + ticks, TimeSpan.Zero);
    }

    private static DateOnly ParseDate(string text) =>
        DateOnly.ParseExact(text, DateFormat, CultureInfo.InvariantCulture);

    private static long DecodeInt64(Value value) => value.KindCase == Value.KindOneofCase.NumberValue
        ? checked((long)value.NumberValue)
        : long.Parse(value.StringValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static double DecodeFloat64(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.NumberValue => value.NumberValue,
        Value.KindOneofCase.StringValue => value.StringValue switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
        },
        _ => throw new FormatException($"A {value.KindCase} value is not a FLOAT64."),
    };

    private static void Expect(SpannerType type, string column, System.Type target, params V1.TypeCode[] allowed)
    {
        if (!allowed.Contains(type.Code))
        {
            throw new InvalidCastException($"Column '{column}' has type {type}; it cannot be read as {target.Name}.");
        }
    }

    private static void ExpectArray(SpannerType type, string column, System.Type target, params V1.TypeCode[] allowed)
    {
        if (type.Code != V1.TypeCode.Array || type.ElementType is null || !allowed.Contains(type.ElementType.Code))
        {
            throw new InvalidCastException($"Column '{column}' has type {type}; it cannot be read as {target.Name}.");
        }
    }
}
