using System.IO.Compression;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;

namespace ChatService.Tests.Hostile;

/// <summary>Focused regression tests for what the hostile suite found.</summary>
public sealed class HostileRegressionTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    public static TheoryData<string> MalformedBodies => ["truncated", "invalid-utf8", "tag-zero", "nesting-bomb", "negative-length"];

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task SendMessage_BodyThatDoesNotParse_IsInvalidArgumentAndWritesNothing(string kind)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var valid = new SendMessageRequest { ChatId = chat.ChatId, Text = "would be recorded if it parsed", RequestId = "r1" }.ToByteArray();
        byte[] body = kind switch
        {
            "truncated" => valid[..(valid.Length - 3)],
            "invalid-utf8" => [.. valid, 0x12, 0x02, 0xc0, 0xaf],
            "tag-zero" => [.. valid, 0x00, 0x01],
            "nesting-bomb" => [.. valid, .. Enumerable.Repeat((byte)0x0b, 500)],
            _ => [.. valid, 0x12, 0xff, 0xff, 0xff, 0xff, 0x0f],
        };
        var before = await Fixture.SnapshotAsync();

        var result = await RawGrpc.ServerStreamingAsync(Fixture.Invoker, "SendMessage", body,
            new CallOptions(new Metadata { { "x-user-id", user } }, cancellationToken: Ct));

        Assert.Equal(StatusCode.InvalidArgument, result.Status);
        Assert.Contains("not a valid chat.v1.SendMessageRequest", result.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    public static TheoryData<string, StatusCode> BrokenFrames => new()
    {
        { "empty-body", StatusCode.InvalidArgument },
        { "short-header", StatusCode.InvalidArgument },
        { "compressed-flag-7", StatusCode.InvalidArgument },
        { "truncated-frame", StatusCode.InvalidArgument },
        { "trailing-bytes", StatusCode.InvalidArgument },
        { "compressed-without-encoding", StatusCode.InvalidArgument },
        { "gzip-garbage", StatusCode.InvalidArgument },
        { "length-4gib", StatusCode.ResourceExhausted },
        { "gzip-bomb", StatusCode.ResourceExhausted },
    };

    [Theory]
    [MemberData(nameof(BrokenFrames))]
    public async Task GetChat_BrokenGrpcFrame_IsRejectedWithAClearStatus(string kind, StatusCode expected)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var message = new GetChatRequest { ChatId = chat.ChatId }.ToByteArray();
        var (body, encoding) = kind switch
        {
            "empty-body" => ([], null),
            "short-header" => (RawGrpc.Frame(message)[..3], null),
            "compressed-flag-7" => (RawGrpc.Frame(message, flag: 7), null),
            "truncated-frame" => (RawGrpc.Frame(message, length: (uint)message.Length + 10), null),
            "trailing-bytes" => ([.. RawGrpc.Frame(message), 0x00], null),
            "compressed-without-encoding" => (RawGrpc.Frame(message, flag: 1), null),
            "gzip-garbage" => (RawGrpc.Frame([1, 2, 3, 4, 5], flag: 1), "gzip"),
            "length-4gib" => (RawGrpc.Frame(message, length: uint.MaxValue), null),
            _ => (RawGrpc.Frame(Gzip(new byte[2 * 1024 * 1024]), flag: 1), (string?)"gzip"),
        };
        List<(string, string)> headers = [("x-user-id", user)];
        if (encoding is not null)
        {
            headers.Add(("grpc-encoding", encoding));
        }

        var result = await RawGrpc.PostAsync(Fixture.Factory.Server, "GetChat", body, headers, Ct);

        Assert.True(expected == result.Status, $"{kind}: expected {expected}, got {result.Status}: {result.Detail}");
    }

    [Fact]
    public async Task SendMessage_GzipCompressedRequest_IsRecordedAndStreamed()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        // The client compresses the request; the guard must hand the body on for grpc-dotnet to decompress.
        using var call = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "compressed hello" },
            new CallOptions(new Metadata { { "grpc-internal-encoding-request", "gzip" } }, cancellationToken: Ct));
        var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        Assert.Equal("compressed hello", events[0].Accepted.UserTurn.Text);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
    }

    [Fact]
    public async Task AnyCall_BinaryHeaderThatIsNotBase64_IsInvalidArgument()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var result = await RawGrpc.PostAsync(Fixture.Factory.Server, "GetChat", RawGrpc.Frame(new GetChatRequest { ChatId = chat.ChatId }.ToByteArray()),
            [("x-user-id", user), ("x-trace-bin", "!!!")], Ct);

        Assert.Equal(StatusCode.InvalidArgument, result.Status);
        Assert.Contains("-bin", result.Detail);
    }

    [Theory]
    [InlineData("lone-surrogate")]
    [InlineData("non-ascii")]
    public async Task CreateCharacter_IdentityThatIsNotPrintableAscii_IsUnauthenticatedAndWritesNothing(string kind)
    {
        // A lone surrogate was stored re-encoded as U+FFFD: the character then belonged to another
        // user id ("…\uFFFD"), who could read it, while its creator could not.
        var user = TestUsers.New() + (kind == "lone-surrogate" ? "\ud800" : "é");
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.Unauthenticated, () => CreateCharacterAsync(user));

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task ContinueChat_LongestRequestIdAndMostTurns_RecordsEveryTurnAndRepeatsAsDuplicate()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user), await CreateCharacterAsync(user, "Bob"));
        var requestId = new string('k', 64);

        // The i-th turn's stored key was the id with "#i" appended: past the column's 64 characters, so INTERNAL.
        var first = await ContinueAsync(user, chat.ChatId, requestId);
        var before = await Fixture.SnapshotAsync();
        var again = await ContinueAsync(user, chat.ChatId, requestId);

        Assert.False(first[0].Accepted.Duplicate);
        Assert.Equal(10, first[0].Accepted.PendingTurns.Count);
        Assert.True(again[0].Accepted.Duplicate);
        Assert.Equal(first[0].Accepted.PendingTurns.Select(t => (t.Seq, t.CandidateId)), again[0].Accepted.PendingTurns.Select(t => (t.Seq, t.CandidateId)));
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task SendMessage_MoreNamedSpeakersThanAChatMayHave_IsInvalidArgumentBeforeAnyLookup()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        // As many as fit the request size limit: each was checked against the chat inside the recording transaction.
        var names = Enumerable.Range(0, 1_000).Select(_ => Guid.NewGuid().ToString()).ToList();
        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => SendAsync(user, chat.ChatId, "hi", "", [.. names]));

        Assert.Contains("reply_character_ids must have 0 to 8 entries, got 1000", ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task StreamReply_AfterSequenceBeyondAnyEvent_IsInvalidArgumentNotAnOverflowedSequence()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var reply = (await SendAsync(user, chat.ChatId, "hello"))[^1].Completed.Turn;

        await AssertStatusAsync(StatusCode.InvalidArgument, () => ResumeAsync(user, reply, long.MaxValue));
        var last = (await ResumeAsync(user, reply, int.MaxValue)).Single();

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, last.EventCase);
        Assert.Equal(int.MaxValue + 1L, last.Sequence);
    }

    private async Task<List<ReplyEvent>> ContinueAsync(string user, string chatId, string requestId)
    {
        using var call = Fixture.Client(user).ContinueChat(new ContinueChatRequest { ChatId = chatId, Turns = 10, RequestId = requestId }, cancellationToken: Ct);
        return await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
    }

    private async Task<List<ReplyEvent>> ResumeAsync(string user, Turn reply, long afterSequence)
    {
        using var call = Fixture.Client(user).StreamReply(new StreamReplyRequest { ChatId = reply.ChatId, Seq = reply.Seq, AfterSequence = afterSequence },
            cancellationToken: Ct);
        return await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
