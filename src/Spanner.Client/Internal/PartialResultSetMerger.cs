using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Spanner.Client.Internal;

/// <summary>
/// Assembles rows from a stream of PartialResultSets: values are flat, every N of them (N = row_type field
/// count) form a row, and when <c>chunked_value</c> is set the last value continues in the next message.
/// Chunks merge as the API defines: strings concatenate; lists concatenate, merging the last element of the
/// first with the first element of the second when both are strings or both are lists. Other kinds cannot be
/// chunked. Only the first message carries metadata.
/// </summary>
internal sealed class PartialResultSetMerger
{
    private readonly List<Value> _currentRow = [];
    private Value? _pendingChunk;

    public ResultMetadata? Metadata { get; private set; }

    public V1.ResultSetStats? Stats { get; private set; }

    /// <summary>Adds one message and appends the rows it completes to <paramref name="rows"/>.</summary>
    public void Add(V1.PartialResultSet partial, List<SpannerRow> rows)
    {
        if (Metadata is null)
        {
            if (partial.Metadata?.RowType is null)
            {
                throw Protocol("the first PartialResultSet has no metadata");
            }

            Metadata = new ResultMetadata(partial.Metadata.RowType);
        }

        if (partial.Stats is not null)
        {
            Stats = partial.Stats;
        }

        var values = partial.Values;
        var count = values.Count;
        if (count == 0)
        {
            if (partial.ChunkedValue)
            {
                throw Protocol("chunked_value is set on a message without values");
            }

            return;
        }

        var last = partial.ChunkedValue ? count - 1 : count;
        for (var i = 0; i < count; i++)
        {
            var value = values[i];
            if (i == 0 && _pendingChunk is not null)
            {
                value = Merge(_pendingChunk, value);
                _pendingChunk = null;
            }

            if (i == last)
            {
                _pendingChunk = value;
                break;
            }

            Append(value, rows);
        }
    }

    /// <summary>Checks the stream ended on a row boundary.</summary>
    public void Complete()
    {
        if (Metadata is null)
        {
            throw Protocol("the stream ended without metadata");
        }

        if (_pendingChunk is not null || _currentRow.Count != 0)
        {
            throw Protocol("the stream ended in the middle of a row");
        }
    }

    private void Append(Value value, List<SpannerRow> rows)
    {
        var fieldCount = Metadata!.FieldCount;
        if (fieldCount == 0)
        {
            throw Protocol("values arrived for a result without columns");
        }

        _currentRow.Add(value);
        if (_currentRow.Count == fieldCount)
        {
            rows.Add(new SpannerRow(Metadata, [.. _currentRow]));
            _currentRow.Clear();
        }
    }

    internal static Value Merge(Value first, Value second)
    {
        if (first.KindCase == Value.KindOneofCase.StringValue && second.KindCase == Value.KindOneofCase.StringValue)
        {
            return Value.ForString(first.StringValue + second.StringValue);
        }

        if (first.KindCase == Value.KindOneofCase.ListValue && second.KindCase == Value.KindOneofCase.ListValue)
        {
            var merged = new ListValue();
            var a = first.ListValue.Values;
            var b = second.ListValue.Values;
            if (a.Count > 0 && b.Count > 0 && IsMergeable(a[^1], b[0]))
            {
                merged.Values.AddRange(a.Take(a.Count - 1));
                merged.Values.Add(Merge(a[^1], b[0]));
                merged.Values.AddRange(b.Skip(1));
            }
            else
            {
                merged.Values.AddRange(a);
                merged.Values.AddRange(b);
            }

            return new Value { ListValue = merged };
        }

        throw Protocol($"a chunked {first.KindCase} cannot be merged with a {second.KindCase}");
    }

    private static bool IsMergeable(Value last, Value first) =>
        last.KindCase == first.KindCase &&
        last.KindCase is Value.KindOneofCase.StringValue or Value.KindOneofCase.ListValue;

    private static SpannerException Protocol(string problem) =>
        new(StatusCode.Internal, $"Malformed streaming result: {problem}.");
}
