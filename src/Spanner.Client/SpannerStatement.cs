using Google.Protobuf.WellKnownTypes;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>A SQL statement with <c>@name</c> parameters. Parameters are encoded when added.</summary>
public sealed class SpannerStatement
{
    private readonly Dictionary<string, (SpannerType Type, Value Value)> _parameters = new(StringComparer.Ordinal);

    /// <summary>A statement with the given SQL text.</summary>
    public SpannerStatement(string sql)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        Sql = sql;
    }

    /// <summary>The SQL text.</summary>
    public string Sql { get; }

    /// <summary>
    /// Binds <c>@<paramref name="name"/></c> to <paramref name="value"/>, inferring the Spanner type from the CLR type
    /// (string, long/int, bool, double, decimal, byte[], DateTimeOffset, DateTime (UTC), DateOnly, IEnumerable of
    /// string/long/bool/double/byte[]). Null cannot be typed: use <see cref="Add(string, SpannerType, object?)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The value is null or its type cannot be inferred.</exception>
    public SpannerStatement Add(string name, object? value)
    {
        if (value is null)
        {
            throw new ArgumentException(
                $"Parameter '{name}' is null, which has no Spanner type; use Add(name, SpannerType, null).", nameof(value));
        }

        return Add(name, ValueCodec.InferType(value), value);
    }

    /// <summary>Binds <c>@<paramref name="name"/></c> to <paramref name="value"/> as <paramref name="type"/>; null is a typed NULL.</summary>
    public SpannerStatement Add(string name, SpannerType type, object? value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(type);
        _parameters[name.TrimStart('@')] = (type, ValueCodec.Encode(value, type));
        return this;
    }

    internal void ApplyTo(V1.ExecuteSqlRequest request)
    {
        request.Sql = Sql;
        if (_parameters.Count == 0)
        {
            return;
        }

        request.Params = new Struct();
        foreach (var (name, (type, value)) in _parameters)
        {
            request.Params.Fields[name] = value.Clone();
            request.ParamTypes[name] = type.ToProto();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Sql;
}
