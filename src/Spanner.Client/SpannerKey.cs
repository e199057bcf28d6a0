using Google.Protobuf.WellKnownTypes;
using Spanner.Client.Internal;

namespace Spanner.Client;

/// <summary>A primary key (or key prefix): the key column values in the table's PRIMARY KEY order.</summary>
public sealed class SpannerKey
{
    private readonly ListValue _parts;

    private SpannerKey(ListValue parts) => _parts = parts;

    /// <summary>
    /// A key from its column values; each part's type is inferred from its CLR type as for
    /// <see cref="SpannerStatement.Add(string, object?)"/>, and null is a NULL key part.
    /// </summary>
    public static SpannerKey Of(params object?[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = new ListValue();
        foreach (var part in parts)
        {
            list.Values.Add(ValueCodec.EncodeInferred(part));
        }

        return new SpannerKey(list);
    }

    internal ListValue ToProto() => _parts.Clone();

    /// <inheritdoc/>
    public override string ToString() => _parts.ToString();
}
