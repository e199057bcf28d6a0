using Google.Protobuf.WellKnownTypes;
using Spanner.Client;
using Spanner.Client.Internal;

namespace ChatService.Tests.Spanner;

public sealed class ValueCodecTests
{
    public static TheoryData<SpannerType, object, Value> WireEncodings => new()
    {
        { SpannerType.Bool, true, Value.ForBool(true) },
        { SpannerType.Int64, long.MinValue, Value.ForString("-9223372036854775808") },
        { SpannerType.Int64, 42, Value.ForString("42") },
        { SpannerType.Float64, 1.5, Value.ForNumber(1.5) },
        { SpannerType.Float64, double.NaN, Value.ForString("NaN") },
        { SpannerType.Float64, double.PositiveInfinity, Value.ForString("Infinity") },
        { SpannerType.Float64, double.NegativeInfinity, Value.ForString("-Infinity") },
        { SpannerType.String, "hé", Value.ForString("hé") },
        { SpannerType.Bytes, new byte[] { 0, 255 }, Value.ForString("AP8=") },
        { SpannerType.Timestamp, new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567), Value.ForString("2024-01-02T03:04:05.1234567Z") },
        { SpannerType.Timestamp, new DateTimeOffset(2024, 1, 2, 5, 4, 5, TimeSpan.FromHours(2)), Value.ForString("2024-01-02T03:04:05Z") },
        { SpannerType.Timestamp, new DateTimeOffset(2024, 1, 2, 3, 4, 5, 500, TimeSpan.Zero), Value.ForString("2024-01-02T03:04:05.5Z") },
        { SpannerType.Timestamp, SpannerCommitTimestamp.Value, Value.ForString("spanner.commit_timestamp()") },
        { SpannerType.Date, new DateOnly(2024, 2, 29), Value.ForString("2024-02-29") },
        { SpannerType.Json, """{"a":1}""", Value.ForString("""{"a":1}""") },
        { SpannerType.Numeric, 1.25m, Value.ForString("1.25") },
        { SpannerType.ArrayOf(SpannerType.Int64), new long[] { 1, 2 }, Value.ForList(Value.ForString("1"), Value.ForString("2")) },
        { SpannerType.ArrayOf(SpannerType.String), new[] { "a", null }, Value.ForList(Value.ForString("a"), Value.ForNull()) },
    };

    [Theory]
    [MemberData(nameof(WireEncodings))]
    public void Encode_EachType_UsesSpannerWireFormat(SpannerType type, object value, Value expected)
    {
        Assert.Equal(expected, ValueCodec.Encode(value, type));
        // JSON text is a plain string in .NET, so only an explicit type makes it JSON.
        Assert.Equal(type == SpannerType.Json ? SpannerType.String : type, ValueCodec.InferType(value));
    }

    [Fact]
    public void RoundTrip_EveryScalarType_ReturnsTheSameValue()
    {
        var timestamp = new DateTimeOffset(1999, 12, 31, 23, 59, 59, TimeSpan.Zero).AddTicks(9999999);
        Assert.True(RoundTrip(true, SpannerType.Bool));
        Assert.Equal(long.MaxValue, RoundTrip(long.MaxValue, SpannerType.Int64));
        Assert.Equal(-7, RoundTrip<int>(-7, SpannerType.Int64));
        Assert.Equal(Math.PI, RoundTrip(Math.PI, SpannerType.Float64));
        Assert.True(double.IsNaN(RoundTrip(double.NaN, SpannerType.Float64)));
        Assert.Equal(double.NegativeInfinity, RoundTrip(double.NegativeInfinity, SpannerType.Float64));
        Assert.Equal("x\u0000y", RoundTrip("x\u0000y", SpannerType.String));
        Assert.Equal(new byte[] { 1, 2, 3 }, RoundTrip(new byte[] { 1, 2, 3 }, SpannerType.Bytes));
        Assert.Equal(timestamp, RoundTrip(timestamp, SpannerType.Timestamp));
        Assert.Equal(new DateOnly(1, 1, 1), RoundTrip(new DateOnly(1, 1, 1), SpannerType.Date));
        Assert.Equal("[1,2]", RoundTrip("[1,2]", SpannerType.Json));
        Assert.Equal(-123.456m, RoundTrip(-123.456m, SpannerType.Numeric));
    }

    [Fact]
    public void RoundTrip_Arrays_ReturnTheSameElements()
    {
        Assert.Equal(["a", null!, ""], RoundTrip(new List<string> { "a", null!, "" }, SpannerType.ArrayOf(SpannerType.String)));
        Assert.Equal([long.MinValue, 0L], RoundTrip(new List<long> { long.MinValue, 0 }, SpannerType.ArrayOf(SpannerType.Int64)));
        Assert.Equal([[1], []], RoundTrip(new List<byte[]> { new byte[] { 1 }, Array.Empty<byte>() }, SpannerType.ArrayOf(SpannerType.Bytes)));
    }

    [Fact]
    public void DecodeTimestamp_NineFractionalDigits_TruncatesToTicks()
    {
        var value = Value.ForString("2024-01-02T03:04:05.123456789Z");

        var decoded = ValueCodec.DecodeAs<DateTimeOffset>(value, SpannerType.Timestamp, "t");

        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567), decoded);
        Assert.Equal(TimeSpan.Zero, decoded.Offset);
    }

    [Theory]
    [InlineData("2024-01-02T03:04:05Z", 0)]
    [InlineData("2024-01-02T03:04:05.1Z", 1_000_000)]
    [InlineData("2024-01-02T03:04:05.000000100Z", 1)]
    [InlineData("2024-01-02T03:04:05.000000099Z", 0)]
    public void DecodeTimestamp_FractionLengths_ParseExactly(string text, long ticks)
    {
        var decoded = ValueCodec.ParseTimestamp(text);

        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(ticks), decoded);
    }

    [Fact]
    public void Decode_Float64AsNumberOrSpecialString_Works()
    {
        Assert.Equal(2.5, ValueCodec.DecodeAs<double>(Value.ForNumber(2.5), SpannerType.Float64, "f"));
        Assert.Equal(double.PositiveInfinity, ValueCodec.DecodeAs<double>(Value.ForString("Infinity"), SpannerType.Float64, "f"));
        Assert.True(double.IsNaN(ValueCodec.DecodeAs<double?>(Value.ForString("NaN"), SpannerType.Float64, "f")!.Value));
    }

    [Fact]
    public void TypedNull_EncodesAsNullValue()
    {
        var request = new global::Spanner.Client.V1.ExecuteSqlRequest();

        new SpannerStatement("SELECT @p").Add("p", SpannerType.Timestamp, null).ApplyTo(request);

        Assert.Equal(Value.ForNull(), request.Params.Fields["p"]);
        Assert.Equal(global::Spanner.Client.V1.TypeCode.Timestamp, request.ParamTypes["p"].Code);
    }

    [Fact]
    public void Statement_ArrayParameter_SendsElementType()
    {
        var request = new global::Spanner.Client.V1.ExecuteSqlRequest();

        new SpannerStatement("SELECT @ids").Add("@ids", new[] { "a" }).ApplyTo(request);

        Assert.Equal(global::Spanner.Client.V1.TypeCode.Array, request.ParamTypes["ids"].Code);
        Assert.Equal(global::Spanner.Client.V1.TypeCode.String, request.ParamTypes["ids"].ArrayElementType.Code);
    }

    [Fact]
    public void Statement_UntypedNull_Throws()
    {
        var statement = new SpannerStatement("SELECT @p");

        Assert.Throws<ArgumentException>(() => statement.Add("p", null));
    }

    [Fact]
    public void Infer_UnsupportedOrAmbiguousValues_Throw()
    {
        Assert.Throws<ArgumentException>(() => ValueCodec.InferType(new object()));
        Assert.Throws<ArgumentException>(() => ValueCodec.Encode(new DateTime(2024, 1, 1), SpannerType.Timestamp));
        Assert.Throws<ArgumentException>(() => ValueCodec.Encode("text", SpannerType.Bool));
        Assert.Equal(Value.ForString("2024-01-01T00:00:00Z"), ValueCodec.Encode(new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc), SpannerType.Timestamp));
    }

    [Fact]
    public void DecodeAs_NullIntoNonNullableType_ThrowsNamingTheColumn()
    {
        var error = Assert.Throws<InvalidCastException>(() => ValueCodec.DecodeAs<long>(Value.ForNull(), SpannerType.Int64, "Seq"));

        Assert.Contains("Seq", error.Message);
        Assert.Null(ValueCodec.DecodeAs<long?>(Value.ForNull(), SpannerType.Int64, "Seq"));
        Assert.Null(ValueCodec.DecodeAs<string?>(Value.ForNull(), SpannerType.String, "Name"));
        Assert.Null(ValueCodec.DecodeAs<byte[]?>(Value.ForNull(), SpannerType.Bytes, "Blob"));
    }

    [Fact]
    public void DecodeAs_WrongColumnType_ThrowsNamingTheColumn()
    {
        var error = Assert.Throws<InvalidCastException>(() => ValueCodec.DecodeAs<long>(Value.ForString("x"), SpannerType.String, "Name"));

        Assert.Contains("Name", error.Message);
    }

    [Fact]
    public void Row_GetByNameOrOrdinal_UsesMetadata()
    {
        var rowType = new global::Spanner.Client.V1.StructType();
        rowType.Fields.Add(new global::Spanner.Client.V1.StructType.Types.Field { Name = "Id", Type = SpannerType.Int64.ToProto() });
        rowType.Fields.Add(new global::Spanner.Client.V1.StructType.Types.Field { Name = "Tags", Type = SpannerType.ArrayOf(SpannerType.String).ToProto() });
        var row = new SpannerRow(new ResultMetadata(rowType), [Value.ForString("5"), Value.ForList(Value.ForString("t"))]);

        Assert.Equal(2, row.FieldCount);
        Assert.Equal(1, row.GetOrdinal("tags"));
        Assert.Equal("Tags", row.GetName(1));
        Assert.Equal(5L, row.Get<long>("Id"));
        Assert.Equal(5L, row.Get<object>(0));
        Assert.Equal(["t"], row.Get<List<string>>(1));
        Assert.False(row.IsNull("Id"));
        Assert.Throws<ArgumentException>(() => row.GetOrdinal("missing"));
    }

    [Fact]
    public void Mutation_DeleteRange_UsesClosedPrefixBounds()
    {
        var proto = SpannerMutation.DeleteRange("Turns", SpannerKey.Of("chat-1")).ToProto();

        var range = Assert.Single(proto.Delete.KeySet.Ranges);
        Assert.Equal("chat-1", Assert.Single(range.StartClosed.Values).StringValue);
        Assert.Equal("chat-1", Assert.Single(range.EndClosed.Values).StringValue);
    }

    [Fact]
    public void Mutation_Write_EncodesColumnsNullsAndCommitTimestamp()
    {
        var proto = SpannerMutation.InsertOrUpdate("Chats").Set("ChatId", "c").Set("Seq", 3L).Set("Title", null).Set("At", SpannerCommitTimestamp.Value).ToProto();

        Assert.Equal(["ChatId", "Seq", "Title", "At"], proto.InsertOrUpdate.Columns);
        Assert.Equal(
            [Value.ForString("c"), Value.ForString("3"), Value.ForNull(), Value.ForString("spanner.commit_timestamp()")],
            Assert.Single(proto.InsertOrUpdate.Values).Values);
    }

    private static T RoundTrip<T>(T value, SpannerType type) =>
        ValueCodec.DecodeAs<T>(ValueCodec.Encode(value, type), type, "column");
}
