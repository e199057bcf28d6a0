using Google.Protobuf.WellKnownTypes;
using Spanner.Client;
using Spanner.Client.Internal;
using V1 = Spanner.Client.V1;

namespace ChatService.Tests.Spanner;

public sealed class PartialResultSetMergerTests
{
    [Fact]
    public void Merge_StringSplitAcrossThreeChunks_Concatenates()
    {
        var merger = new PartialResultSetMerger();
        var rows = new List<SpannerRow>();

        merger.Add(Partial(Columns(SpannerType.String), chunked: true, Value.ForString("Hello"), Value.ForString("W")), rows);
        merger.Add(Partial(null, chunked: true, Value.ForString("orl")), rows);
        merger.Add(Partial(null, chunked: false, Value.ForString("d")), rows);
        merger.Complete();

        Assert.Equal(["Hello", "World"], rows.Select(r => r.Get<string>(0)));
    }

    [Fact]
    public void Merge_ListOfStringsSplitInsideAnElement_MergesThatElement()
    {
        var merger = new PartialResultSetMerger();
        var rows = new List<SpannerRow>();

        merger.Add(Partial(Columns(SpannerType.ArrayOf(SpannerType.String)), chunked: true, List(Value.ForString("a"), Value.ForString("b"))), rows);
        merger.Add(Partial(null, chunked: false, List(Value.ForString("c"), Value.ForString("d"))), rows);
        merger.Complete();

        Assert.Equal(["a", "bc", "d"], Assert.Single(rows).Get<List<string>>(0));
    }

    [Fact]
    public void Merge_NestedLists_MergesRecursively()
    {
        var first = List(Value.ForString("a"), List(Value.ForString("b"), Value.ForString("c")));
        var second = List(List(Value.ForString("d")), Value.ForString("e"));

        var merged = PartialResultSetMerger.Merge(first, second);

        Assert.Equal(List(Value.ForString("a"), List(Value.ForString("b"), Value.ForString("cd")), Value.ForString("e")), merged);
    }

    [Fact]
    public void Merge_ListsOfNonStrings_Concatenate()
    {
        var merged = PartialResultSetMerger.Merge(List(Value.ForString("2"), Value.ForNull()), List(Value.ForNull(), Value.ForBool(true)));

        Assert.Equal(List(Value.ForString("2"), Value.ForNull(), Value.ForNull(), Value.ForBool(true)), merged);
    }

    [Fact]
    public void Add_MultipleRowsSpanningMessages_AssemblesRowsByFieldCount()
    {
        var merger = new PartialResultSetMerger();
        var rows = new List<SpannerRow>();
        var columns = Columns(SpannerType.Int64, SpannerType.String, SpannerType.Bool);

        merger.Add(Partial(columns, chunked: false, Value.ForString("1"), Value.ForString("one")), rows);
        Assert.Empty(rows);
        merger.Add(Partial(null, chunked: true, Value.ForBool(true), Value.ForString("2"), Value.ForString("tw")), rows);
        Assert.Single(rows);
        merger.Add(Partial(null, chunked: false, Value.ForString("o"), Value.ForBool(false), Value.ForString("3")), rows);
        merger.Add(Partial(null, chunked: false, Value.ForString("three"), Value.ForBool(true)), rows);
        merger.Complete();

        Assert.Equal([1L, 2L, 3L], rows.Select(r => r.Get<long>(0)));
        Assert.Equal(["one", "two", "three"], rows.Select(r => r.Get<string>(1)));
        Assert.Equal([true, false, true], rows.Select(r => r.Get<bool>(2)));
    }

    [Fact]
    public void Add_ChunkedBool_ThrowsBecauseItCannotBeMerged()
    {
        var merger = new PartialResultSetMerger();
        var rows = new List<SpannerRow>();
        merger.Add(Partial(Columns(SpannerType.Bool), chunked: true, Value.ForBool(true)), rows);

        var error = Assert.Throws<SpannerException>(() => merger.Add(Partial(null, chunked: false, Value.ForBool(false)), rows));

        Assert.Equal(SpannerErrorCode.Internal, error.ErrorCode);
    }

    [Fact]
    public void Merge_StringWithList_Throws()
    {
        Assert.Throws<SpannerException>(() => PartialResultSetMerger.Merge(Value.ForString("a"), List(Value.ForString("b"))));
    }

    [Fact]
    public void Complete_StreamEndsMidRow_Throws()
    {
        var merger = new PartialResultSetMerger();
        merger.Add(Partial(Columns(SpannerType.Int64, SpannerType.Int64), chunked: false, Value.ForString("1")), []);

        Assert.Throws<SpannerException>(merger.Complete);
    }

    [Fact]
    public void Add_FirstMessageWithoutMetadata_Throws()
    {
        Assert.Throws<SpannerException>(() => new PartialResultSetMerger().Add(Partial(null, chunked: false, Value.ForString("1")), []));
    }

    [Fact]
    public void Add_EmptyResult_HasMetadataAndNoRows()
    {
        var merger = new PartialResultSetMerger();
        var rows = new List<SpannerRow>();

        merger.Add(Partial(Columns(SpannerType.String), chunked: false), rows);
        merger.Complete();

        Assert.Empty(rows);
        Assert.Equal(1, merger.Metadata!.FieldCount);
    }

    private static V1.StructType Columns(params SpannerType[] types)
    {
        var rowType = new V1.StructType();
        for (var i = 0; i < types.Length; i++)
        {
            rowType.Fields.Add(new V1.StructType.Types.Field { Name = $"c{i}", Type = types[i].ToProto() });
        }

        return rowType;
    }

    private static V1.PartialResultSet Partial(V1.StructType? rowType, bool chunked, params Value[] values)
    {
        var partial = new V1.PartialResultSet { ChunkedValue = chunked };
        if (rowType is not null)
        {
            partial.Metadata = new V1.ResultSetMetadata { RowType = rowType };
        }

        partial.Values.AddRange(values);
        return partial;
    }

    private static Value List(params Value[] values) => Value.ForList(values);
}
