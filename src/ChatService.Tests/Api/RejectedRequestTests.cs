using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Tests.Infrastructure;
using Google.Rpc;
using Grpc.Core;

namespace ChatService.Tests.Api;

/// <summary>Bad input gets a clear status and message, and nothing is written.</summary>
public sealed class RejectedRequestTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    public static TheoryData<string, StatusCode, string> BadSends => new()
    {
        { "empty-text", StatusCode.InvalidArgument, "text" },
        { "blank-text", StatusCode.InvalidArgument, "text" },
        { "oversized-text", StatusCode.InvalidArgument, "text" },
        { "malformed-chat-id", StatusCode.InvalidArgument, "chat_id" },
        { "uppercase-chat-id", StatusCode.InvalidArgument, "chat_id" },
        { "unknown-chat", StatusCode.NotFound, "not found" },
        { "other-users-chat", StatusCode.NotFound, "not found" },
        { "bad-request-id", StatusCode.InvalidArgument, "request_id" },
        { "reply-character-not-in-chat", StatusCode.InvalidArgument, "reply_character_ids[0]" },
        { "malformed-reply-character", StatusCode.InvalidArgument, "reply_character_ids[0]" },
        { "no-identity", StatusCode.Unauthenticated, "x-user-id" },
    };

    [Theory]
    [MemberData(nameof(BadSends))]
    public async Task SendMessage_BadRequest_IsRejectedAndWritesNothing(string scenario, StatusCode expected, string mentions)
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, character);
        var request = new SendMessageRequest { ChatId = chat.ChatId, Text = "hello", RequestId = "r1" };
        string? caller = user;
        switch (scenario)
        {
            case "empty-text": request.Text = ""; break;
            case "blank-text": request.Text = " \n\t "; break;
            case "oversized-text": request.Text = new string('é', 4097); break; // 8194 bytes of UTF-8
            case "malformed-chat-id": request.ChatId = "chat-1"; break;
            case "uppercase-chat-id": request.ChatId = chat.ChatId.ToUpperInvariant(); break;
            case "unknown-chat": request.ChatId = Guid.NewGuid().ToString(); break;
            case "other-users-chat": caller = TestUsers.New(); break;
            case "bad-request-id": request.RequestId = "has spaces"; break;
            case "reply-character-not-in-chat": request.ReplyCharacterIds.Add((await CreateCharacterAsync(user)).CharacterId); break;
            case "malformed-reply-character": request.ReplyCharacterIds.Add("x"); break;
            case "no-identity": caller = null; break;
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(expected, async () =>
        {
            using var call = Fixture.Client(caller).SendMessage(request, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });

        Assert.Contains(mentions, ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task InvalidArgument_CarriesBadRequestDetails()
    {
        var user = TestUsers.New();

        var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () =>
            Fixture.Client(user).GetChatAsync(new GetChatRequest { ChatId = "nope" }, cancellationToken: Ct).ResponseAsync);

        var details = ex.Trailers.GetValueBytes("grpc-status-details-bin");
        Assert.NotNull(details);
        var status = Google.Rpc.Status.Parser.ParseFrom(details);
        var badRequest = Assert.Single(status.Details).Unpack<BadRequest>();
        Assert.Equal("chat_id", Assert.Single(badRequest.FieldViolations).Field);
    }

    [Fact]
    public async Task SendMessage_FarBeyondAnyLegitimateSize_IsResourceExhaustedBeforeParsing_AndWritesNothing()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var before = await Fixture.SnapshotAsync();

        // Larger than the biggest legitimate request (a character), so gRPC refuses to read it at all.
        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () => SendAsync(user, chat.ChatId, new string('x', 1024 * 1024)));

        Assert.Contains("message size", ex.Status.Detail);
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task CreateCharacter_AtTheConfiguredSizeLimits_IsAccepted()
    {
        var user = TestUsers.New();
        const string Wide = "😀"; // one character, four bytes of UTF-8

        // The transport limit leaves room for every field at its largest, in the widest characters each allows.
        var character = await Fixture.Client(user).CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = new string('é', 100),
            Persona = string.Concat(Enumerable.Repeat(Wide, 8 * 1024)),
            Description = string.Concat(Enumerable.Repeat(Wide, 32_000 - (8 * 1024))),
            Greeting = new string('g', 8192),
            AlternateGreetings = { Enumerable.Range(0, CharacterLimits.MaxAlternateGreetings).Select(i => new string((char)('a' + (i % 26)), 8192)) },
            CreatorNotes = string.Concat(Enumerable.Repeat(Wide, CharacterLimits.MaxCreatorNotesChars)),
            Tags = { Enumerable.Range(0, CharacterLimits.MaxTags).Select(i => new string((char)('日' + i), 32)) },
            AvatarUrl = "https://example.com/" + new string('a', 2048 - 20),
            Creator = string.Concat(Enumerable.Repeat(Wide, 256)),
            CharacterVersion = string.Concat(Enumerable.Repeat(Wide, 256)),
        }, cancellationToken: Ct);

        Assert.Equal(8 * 1024 * 2, character.Persona.Length);
        Assert.Equal(CharacterLimits.MaxAlternateGreetings, character.AlternateGreetings.Count);
    }

    [Fact]
    public async Task CreateChat_TooManyOrRepeatedCharacters_IsInvalidArgument()
    {
        var user = TestUsers.New();
        var c = await CreateCharacterAsync(user);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.InvalidArgument, () => CreateChatAsync(user));
        await AssertStatusAsync(StatusCode.InvalidArgument, () => CreateChatAsync(user, c, c));
        await AssertStatusAsync(StatusCode.InvalidArgument, () => CreateChatAsync(user, Enumerable.Repeat(c, 9).ToArray()));

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }
}
