using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;

namespace ChatService.Tests.Auth;

/// <summary>Bearer tokens signed in the test with freshly generated keys, against static key configuration.</summary>
public sealed class StaticKeyAuthTests(StaticKeysFixture fixture) : ApiTestBase(fixture), IClassFixture<StaticKeysFixture>
{
    private StaticKeysFixture Keys => fixture;

    [Theory]
    [InlineData("RS256")]
    [InlineData("ES256")]
    [InlineData("HS256")]
    public async Task ValidToken_CallerIsTheTokenSubject(string kind)
    {
        var user = TestUsers.New();
        var signer = Signer(kind);
        var client = Fixture.WithToken(signer.Token(user));

        var character = await client.CreateCharacterAsync(Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);

        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND UserId = @u", ("c", chat.ChatId), ("u", user)));
        // Any accepted key and audience names the same user.
        var other = Fixture.WithToken(Keys.Rsa.Token(user, audience: "chat-api-mobile"));
        Assert.Equal(chat.ChatId, (await other.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).ChatId);
    }

    [Fact]
    public async Task SendMessage_WithToken_StreamsTheReply()
    {
        var user = TestUsers.New();
        var client = Fixture.WithToken(Keys.Rsa.Token(user));
        var character = await client.CreateCharacterAsync(Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);

        using var call = client.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "hello" }, cancellationToken: Ct);
        var events = await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);

        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
    }

    public static TheoryData<string, string> RefusedTokens => new()
    {
        { "expired", "expired" },
        { "not-yet-valid", "not valid yet" },
        { "no-expiry", "no expiry" },
        { "wrong-issuer", "issuer" },
        { "wrong-audience", "not issued for this service" },
        { "unknown-key", "signature" },
        { "tampered-payload", "signature" },
        { "hmac-with-wrong-secret", "signature" },
        { "unsigned", "bearer token" },
        { "malformed", "well-formed" },
        { "no-subject", "no subject" },
        { "not-bearer", "must be 'Bearer <JWT>'" },
    };

    [Theory]
    [MemberData(nameof(RefusedTokens))]
    public async Task RefusedToken_IsUnauthenticated_AndWritesNothing(string scenario, string mentions)
    {
        var user = TestUsers.New();
        var now = DateTime.UtcNow;
        var authorization = "Bearer " + scenario switch
        {
            "expired" => Keys.Rsa.Token(user, expires: now.AddMinutes(-5), notBefore: now.AddMinutes(-30), issuedAt: now.AddMinutes(-30)),
            "not-yet-valid" => Keys.Rsa.Token(user, notBefore: now.AddMinutes(10), expires: now.AddMinutes(20)),
            "no-expiry" => Keys.Rsa.Token(user, withExpiry: false),
            "wrong-issuer" => Keys.Rsa.Token(user, issuer: "https://evil.example/"),
            "wrong-audience" => Keys.Rsa.Token(user, audience: "someone-else"),
            "unknown-key" => TestSigner.Rsa("rsa-1").Token(user),
            "tampered-payload" => Tamper(Keys.Rsa.Token(user), TestUsers.New()),
            "hmac-with-wrong-secret" => TestSigner.Hmac("hmac-1").Token(user),
            "unsigned" => Unsigned(user),
            "malformed" => "not.a.jwt",
            "no-subject" => Keys.Ec.Token(subject: null),
            _ => "",
        };
        if (scenario == "not-bearer")
        {
            authorization = "Basic " + Convert.ToBase64String("alice:secret"u8.ToArray());
        }

        var before = await Fixture.SnapshotAsync();

        var ex = await AssertStatusAsync(StatusCode.Unauthenticated,
            () => Fixture.WithHeaders(("authorization", authorization)).CreateCharacterAsync(Ct));

        Assert.Contains(mentions, ex.Status.Detail);
        Assert.DoesNotContain("IDX", ex.Status.Detail); // library diagnostics stay in the server's logs
        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task NoCredentials_IsUnauthenticated()
    {
        var ex = await AssertStatusAsync(StatusCode.Unauthenticated, () => Fixture.WithHeaders().CreateCharacterAsync(Ct));

        Assert.Contains("Bearer", ex.Status.Detail);
    }

    [Fact]
    public async Task UserIdHeader_WithTheSwitchOff_IsNotAnIdentity()
    {
        var victim = TestUsers.New();
        var victims = Fixture.WithToken(Keys.Rsa.Token(victim));
        var character = await victims.CreateCharacterAsync(Ct);
        var chat = await victims.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);

        // The header alone gets nowhere...
        var ex = await AssertStatusAsync(StatusCode.Unauthenticated, () =>
            Fixture.WithHeaders(("x-user-id", victim)).GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("x-user-id", ex.Status.Detail);

        // ...and next to a token it changes nothing: the caller is the token's subject.
        var attacker = Fixture.WithHeaders(("authorization", "Bearer " + Keys.Rsa.Token(TestUsers.New())), ("x-user-id", victim));
        await AssertStatusAsync(StatusCode.NotFound, () => attacker.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task AnotherUsersChat_IsNotFound_AndUntouched()
    {
        var owner = Fixture.WithToken(Keys.Rsa.Token(TestUsers.New()));
        var character = await owner.CreateCharacterAsync(Ct);
        var chat = await owner.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        var stranger = Fixture.WithToken(Keys.Ec.Token(TestUsers.New()));
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.NotFound, () => stranger.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.DeleteChatAsync(new DeleteChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, async () =>
        {
            using var call = stranger.SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "mine now" }, cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });

        Assert.Equal(before, await Fixture.SnapshotAsync());
        Assert.Empty((await stranger.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats);
    }

    [Fact]
    public async Task Health_StaysAnonymous()
    {
        var health = new Health.HealthClient(Fixture.Invoker);

        var response = await health.CheckAsync(new HealthCheckRequest(), cancellationToken: Ct);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_StaysAnonymous()
    {
        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(Fixture.Invoker);

        using var call = reflection.ServerReflectionInfo(cancellationToken: Ct);
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" }, Ct);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(Ct));

        Assert.Contains("chat.v1.ChatService", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
    }

    private TestSigner Signer(string kind) => kind switch
    {
        "RS256" => Keys.Rsa,
        "ES256" => Keys.Ec,
        _ => Keys.Hmac,
    };

    /// <summary>The same header and signature over a payload naming someone else.</summary>
    private static string Tamper(string token, string subject)
    {
        var parts = token.Split('.');
        var payload = System.Text.Json.Nodes.JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]))!;
        payload["sub"] = subject;
        return $"{parts[0]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";
    }

    /// <summary>An "alg": "none" token with every claim right but no signature.</summary>
    private static string Unsigned(string subject)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(
            $$"""{"sub":"{{subject}}","iss":"{{TestSigner.Issuer}}","aud":"{{TestSigner.Audience}}","iat":{{now}},"nbf":{{now - 60}},"exp":{{now + 600}}}""");
        return $"{header}.{payload}.";
    }
}
