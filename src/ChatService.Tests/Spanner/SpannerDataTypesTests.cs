using Spanner.Client;

namespace ChatService.Tests.Spanner;

[Collection(SpannerEmulatorCollection.Name)]
public sealed class SpannerDataTypesTests(SpannerEmulatorFixture emulator)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteAndRead_EveryType_RoundTrips()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerDataTypesTests));
        var id = Guid.NewGuid().ToString();
        var timestamp = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.Zero).AddTicks(1234567);
        var bytes = new byte[] { 0, 1, 2, 250, 255 };

        var commitTimestamp = await client.WriteAsync(
        [
            SpannerMutation.Insert("AllTypes")
                .Set("Id", id)
                .Set("BoolValue", true)
                .Set("Int64Value", long.MinValue)
                .Set("Float64Value", double.NaN)
                .Set("StringValue", "héllo, 世界 \u0000 \"quoted\"")
                .Set("BytesValue", bytes)
                .Set("TimestampValue", timestamp)
                .Set("DateValue", new DateOnly(1999, 12, 31))
                .Set("JsonValue", """{"a":[1,2,{"b":null}]}""")
                .Set("NumericValue", 12345.678901234m)
                .Set("StringArray", new[] { "x", null, "" })
                .Set("Int64Array", new List<long> { 1, -2, long.MaxValue })
                .Set("BytesArray", new[] { bytes, Array.Empty<byte>() })
                .Set("CommittedAt", SpannerCommitTimestamp.Value),
        ], Ct);

        var row = Assert.Single(await client.QueryListAsync(
            new SpannerStatement("SELECT * FROM AllTypes WHERE Id = @id").Add("id", id), cancellationToken: Ct));

        Assert.True(row.Get<bool>("BoolValue"));
        Assert.Equal(long.MinValue, row.Get<long>("Int64Value"));
        Assert.True(double.IsNaN(row.Get<double>("Float64Value")));
        Assert.Equal("héllo, 世界 \u0000 \"quoted\"", row.Get<string>("StringValue"));
        Assert.Equal(bytes, row.Get<byte[]>("BytesValue"));
        Assert.Equal(timestamp, row.Get<DateTimeOffset>("TimestampValue"));
        Assert.Equal(new DateOnly(1999, 12, 31), row.Get<DateOnly>("DateValue"));
        Assert.Contains("\"b\":null", row.Get<string>("JsonValue"));
        Assert.Equal(12345.678901234m, row.Get<decimal>("NumericValue"));
        Assert.Equal(["x", null!, ""], row.Get<List<string>>("StringArray"));
        Assert.Equal([1L, -2L, long.MaxValue], row.Get<List<long>>("Int64Array"));
        Assert.Equal([bytes, Array.Empty<byte>()], row.Get<List<byte[]>>("BytesArray"));
        Assert.Equal(commitTimestamp, row.Get<DateTimeOffset>("CommittedAt"));
    }

    [Fact]
    public async Task WriteAndRead_Nulls_ReadAsNullOrThrowNamingTheColumn()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerDataTypesTests));
        var id = Guid.NewGuid().ToString();
        await client.WriteAsync([SpannerMutation.Insert("AllTypes").Set("Id", id).Set("Int64Value", null)], Ct);

        var row = Assert.Single(await client.QueryListAsync(
            new SpannerStatement("SELECT Int64Value, StringValue, TimestampValue, StringArray FROM AllTypes WHERE Id = @id").Add("id", id),
            cancellationToken: Ct));

        Assert.True(row.IsNull("Int64Value"));
        Assert.Null(row.Get<long?>("Int64Value"));
        Assert.Null(row.Get<string?>("StringValue"));
        Assert.Null(row.Get<DateTimeOffset?>("TimestampValue"));
        Assert.Null(row.Get<List<string>?>("StringArray"));
        var error = Assert.Throws<InvalidCastException>(() => row.Get<long>("Int64Value"));
        Assert.Contains("Int64Value", error.Message);
    }

    [Fact]
    public async Task Query_TypedParameters_BindEveryType()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerDataTypesTests));
        var timestamp = DateTimeOffset.UnixEpoch.AddTicks(9);
        var statement = new SpannerStatement(
                "SELECT @b AS b, @i AS i, @f AS f, @s AS s, @by AS bs, @t AS t, @d AS d, @n AS n, @sa AS sa, @ia AS ia, @nul AS nul")
            .Add("b", false)
            .Add("i", 42)
            .Add("f", double.NegativeInfinity)
            .Add("s", "text")
            .Add("by", new byte[] { 7 })
            .Add("t", timestamp)
            .Add("d", new DateOnly(2000, 1, 1))
            .Add("n", SpannerType.Numeric, "-0.5")
            .Add("sa", new List<string> { "a", "b" })
            .Add("ia", new long[] { 3, 4 })
            .Add("nul", SpannerType.Int64, null);

        var row = Assert.Single(await client.QueryListAsync(statement, cancellationToken: Ct));

        Assert.False(row.Get<bool>("b"));
        Assert.Equal(42, row.Get<int>("i"));
        Assert.Equal(double.NegativeInfinity, row.Get<double>("f"));
        Assert.Equal("text", row.Get<string>("s"));
        Assert.Equal([7], row.Get<byte[]>("bs"));
        Assert.Equal(timestamp, row.Get<DateTimeOffset>("t"));
        Assert.Equal(new DateOnly(2000, 1, 1), row.Get<DateOnly>(6));
        Assert.Equal(-0.5m, row.Get<decimal>("n"));
        Assert.Equal(["a", "b"], row.Get<List<string>>("sa"));
        Assert.Equal([3L, 4L], row.Get<List<long>>("ia"));
        Assert.True(row.IsNull("nul"));
        Assert.Equal(11, row.FieldCount);
        Assert.Equal("t", row.GetName(5));
    }

    [Fact]
    public async Task Query_ThreeMebibyteString_RoundTripsAcrossChunks()
    {
        var client = await emulator.ClientForAsync(nameof(SpannerDataTypesTests));
        var id = Guid.NewGuid().ToString();
        // STRING(MAX) allows 2.5 Mi characters, so 3 MiB of UTF-8 needs multi-byte characters (U+00C0..U+00FF are 2 bytes).
        var random = new Random(7);
        var chars = new char[3 * 1024 * 1024 / 2];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = (char)(0xC0 + random.Next(64));
        }

        var large = new string(chars);
        Assert.Equal(3 * 1024 * 1024, System.Text.Encoding.UTF8.GetByteCount(large));
        await client.WriteAsync([SpannerMutation.Insert("AllTypes").Set("Id", id).Set("StringValue", large).Set("StringArray", new[] { large, "tail" })], Ct);

        var row = Assert.Single(await client.QueryListAsync(
            new SpannerStatement("SELECT StringValue, StringArray, Id FROM AllTypes WHERE Id = @id").Add("id", id), cancellationToken: Ct));

        Assert.Equal(large.Length, row.Get<string>(0).Length);
        Assert.Equal(large, row.Get<string>(0));
        Assert.Equal([large, "tail"], row.Get<List<string>>(1));
        Assert.Equal(id, row.Get<string>(2));
        Assert.True(await CountChunkedMessagesAsync(client, id) >= 3, "the emulator should have split the 6 MiB row into chunks");
    }

    // Reads the raw stream to prove the round trip above really went through chunk merging.
    private static async Task<int> CountChunkedMessagesAsync(SpannerDatabaseClient client, string id)
    {
        var session = await client.Pool.AcquireAsync(Ct);
        try
        {
            var request = new global::Spanner.Client.V1.ExecuteSqlRequest { Session = session.Name };
            new SpannerStatement("SELECT StringValue, StringArray FROM AllTypes WHERE Id = @id").Add("id", id).ApplyTo(request);
            using var call = client.Rpc.ExecuteStreamingSql(request, routeToLeader: false, Ct);
            var chunked = 0;
            while (await call.ResponseStream.MoveNext(Ct))
            {
                chunked += call.ResponseStream.Current.ChunkedValue ? 1 : 0;
            }

            return chunked;
        }
        finally
        {
            client.Pool.Release(session);
        }
    }
}
