using System.Net;
using System.Net.Http.Headers;
using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;

namespace ChatService.Tests.Api;

/// <summary>
/// Browsers: every kind of RPC through gRPC-Web (binary and base64 text) as a browser client sends it, and
/// the CORS answers a browser needs before it sends anything.
/// </summary>
public sealed class GrpcWebTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string SendMessagePath = "/chat.v1.ChatService/SendMessage";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<GrpcWebMode> Modes => [GrpcWebMode.GrpcWeb, GrpcWebMode.GrpcWebText];

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task GrpcWeb_UnaryCalls_CreateAndReadAChat(GrpcWebMode mode)
    {
        using var channel = WebChannel(mode);
        var client = Client(channel, TestUsers.New());

        var character = await client.CreateCharacterAsync(new CreateCharacterRequest
        {
            DisplayName = "Ada",
            Persona = "A patient mathematician.",
            Greeting = "Hello from the web!",
        }, cancellationToken: Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId, PageSize = 10 }, cancellationToken: Ct);

        Assert.Equal("Hello from the web!", Assert.Single(history.Turns).Text);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task GrpcWeb_SendMessage_StreamsTheWholeReply(GrpcWebMode mode)
    {
        using var channel = WebChannel(mode);
        var client = Client(channel, TestUsers.New());
        var chatId = await NewChatAsync(client);

        var events = await ReadAllAsync(client.SendMessage(
            new SendMessageRequest { ChatId = chatId, Text = "What is a prime number?", RequestId = "web-1" }, cancellationToken: Ct));

        Assert.Equal(ReplyEvent.EventOneofCase.Accepted, events[0].EventCase);
        Assert.Contains(events, e => e.EventCase == ReplyEvent.EventOneofCase.Delta);
        var completed = events[^1];
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, completed.EventCase);
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.Sequence));
        Assert.Equal(string.Concat(events.Where(e => e.Delta is not null).Select(e => e.Delta.Text)), completed.Completed.Turn.Text);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task GrpcWeb_StreamReply_ResumesAfterTheGivenSequence(GrpcWebMode mode)
    {
        using var channel = WebChannel(mode);
        var client = Client(channel, TestUsers.New());
        var chatId = await NewChatAsync(client);
        var sent = await ReadAllAsync(client.SendMessage(new SendMessageRequest { ChatId = chatId, Text = "Tell me about primes." }, cancellationToken: Ct));
        var reply = sent[0];

        var resumed = await ReadAllAsync(client.StreamReply(
            new StreamReplyRequest { ChatId = chatId, Seq = reply.Seq, AfterSequence = 2 }, cancellationToken: Ct));

        Assert.NotEmpty(resumed);
        Assert.All(resumed, e => Assert.True(e.Sequence > 2, $"event {e.Sequence} is not after 2"));
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, resumed[^1].EventCase);
        Assert.Equal(sent[^1].Completed.Turn.Text, resumed[^1].Completed.Turn.Text);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task GrpcWeb_Errors_ArriveAsTheirStatusCode(GrpcWebMode mode)
    {
        using var channel = WebChannel(mode);
        var client = Client(channel, TestUsers.New());

        var notFound = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.GetChatAsync(new GetChatRequest { ChatId = Guid.NewGuid().ToString() }, cancellationToken: Ct));
        var invalid = await Assert.ThrowsAsync<RpcException>(async () =>
            await ReadAllAsync(client.StreamReply(new StreamReplyRequest { ChatId = "not-a-chat-id", Seq = 1 }, cancellationToken: Ct)));

        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task GrpcWeb_CallWithoutIdentity_IsUnauthenticatedWithTheReason(GrpcWebMode mode)
    {
        using var channel = WebChannel(mode);
        var anonymous = new ChatService.Api.V1.ChatService.ChatServiceClient(channel);

        // Refused by authentication before the call reaches gRPC: still a gRPC-Web status, not an HTTP 401.
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await anonymous.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct));

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Contains("x-user-id", ex.Status.Detail);
    }

    [Fact]
    public async Task GrpcWeb_ResponseToAnAllowedOrigin_CarriesCorsAndGrpcWebHeaders()
    {
        using var http = fixture.Factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/chat.v1.ChatService/GetChat")
        {
            Version = HttpVersion.Version11,
            Content = new ByteArrayContent(Hostile.RawGrpc.Frame(new GetChatRequest { ChatId = Guid.NewGuid().ToString() }.ToByteArray())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        request.Headers.Add("Origin", BrowserFixture.AllowedOrigin);
        request.Headers.Add("x-grpc-web", "1");
        request.Headers.Add("x-user-id", TestUsers.New());

        using var response = await http.SendAsync(request, Ct);

        // A browser script sees the status only through the exposed headers of a trailers-only response.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/grpc-web", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(BrowserFixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Equal(((int)StatusCode.NotFound).ToString(System.Globalization.CultureInfo.InvariantCulture), Single(response, "grpc-status"));
        var exposed = HeaderList(response, "Access-Control-Expose-Headers");
        Assert.Superset(new HashSet<string> { "grpc-status", "grpc-message", "grpc-status-details-bin" }, exposed);
    }

    [Fact]
    public async Task Preflight_FromAnAllowedOrigin_AllowsTheGrpcWebHeaders()
    {
        using var http = fixture.Factory.CreateClient();

        using var response = await http.SendAsync(Preflight(BrowserFixture.AllowedOrigin), Ct);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(BrowserFixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("POST", HeaderList(response, "Access-Control-Allow-Methods"));
        Assert.Superset(
            new HashSet<string> { "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "x-user-id" },
            HeaderList(response, "Access-Control-Allow-Headers"));
        Assert.Equal("300", Single(response, "Access-Control-Max-Age"));
    }

    [Fact]
    public async Task Preflight_FromAnotherOrigin_GetsNoCorsHeaders()
    {
        using var http = fixture.Factory.CreateClient();

        using var response = await http.SendAsync(Preflight("https://evil.example.test"), Ct);

        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), "a disallowed origin was allowed");
        Assert.False(response.Headers.Contains("Access-Control-Allow-Headers"), "a disallowed origin got allowed headers");
    }

    [Fact]
    public async Task Preflight_AskingForAHeaderOutsideThePolicy_DoesNotListIt()
    {
        using var http = fixture.Factory.CreateClient();
        using var request = Preflight(BrowserFixture.AllowedOrigin);
        request.Headers.Remove("Access-Control-Request-Headers");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-internal-admin");

        using var response = await http.SendAsync(request, Ct);

        // The answer lists what the policy allows; the browser then refuses to send the request.
        var allowed = HeaderList(response, "Access-Control-Allow-Headers");
        Assert.Contains("content-type", allowed);
        Assert.DoesNotContain("x-internal-admin", allowed);
    }

    private GrpcChannel WebChannel(GrpcWebMode mode) =>
        GrpcChannel.ForAddress(fixture.Factory.Server.BaseAddress, new GrpcChannelOptions
        {
            // What a browser does: HTTP/1.1, gRPC-Web framing, no HTTP trailers.
            HttpHandler = new GrpcWebHandler(mode, fixture.Factory.Server.CreateHandler()),
            HttpVersion = HttpVersion.Version11,
            HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

    private static ChatService.Api.V1.ChatService.ChatServiceClient Client(GrpcChannel channel, string userId) =>
        new(channel.Intercept(headers =>
        {
            headers.Add("x-user-id", userId);
            return headers;
        }));

    private static async Task<string> NewChatAsync(ChatService.Api.V1.ChatService.ChatServiceClient client)
    {
        var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
        var chat = await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct);
        return chat.ChatId;
    }

    private static async Task<List<ReplyEvent>> ReadAllAsync(AsyncServerStreamingCall<ReplyEvent> call)
    {
        using (call)
        {
            var events = new List<ReplyEvent>();
            await foreach (var e in call.ResponseStream.ReadAllAsync(Ct))
            {
                events.Add(e);
            }

            return events;
        }
    }

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, SendMessagePath) { Version = HttpVersion.Version11 };
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent,grpc-timeout,authorization,x-user-id");
        return request;
    }

    private static string Single(HttpResponseMessage response, string header) =>
        Assert.Single(response.Headers.TryGetValues(header, out var values) ? values : []);

    private static HashSet<string> HeaderList(HttpResponseMessage response, string header) =>
        (response.Headers.TryGetValues(header, out var values) ? values : [])
            .SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
}
