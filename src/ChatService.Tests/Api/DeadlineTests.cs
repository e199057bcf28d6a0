using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Auth;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Api;

/// <summary>
/// Short leases and a fast sweep, so a reply recorded by a call that ran out of time is
/// recovered quickly; and a record of how each call's handler ended on the server.
/// </summary>
public sealed class FastRecoveryFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Chat:ReplyLease"] = "00:00:01",
        ["Dispatch:SweepInterval"] = "00:00:00.200",
    };

    public ServerOutcomes Outcomes => Service<ServerOutcomes>();

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ServerOutcomes>();
        services.Configure<GrpcServiceOptions>(options =>
        {
            // Outermost, so it sees the status the service's own error mapping produced.
            options.Interceptors.Add<ServerOutcomes>();
            var recorder = options.Interceptors[^1];
            options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
            options.Interceptors.Insert(0, recorder);
        });
    }
}

/// <summary>
/// Client deadlines reach the server (grpc-timeout) and its Spanner and Redis calls through the
/// call's cancellation token: a call that runs out of time ends DEADLINE_EXCEEDED or CANCELLED,
/// never INTERNAL, and leaves either nothing or a whole, recoverable turn.
/// </summary>
public sealed class DeadlineTests(FastRecoveryFixture fixture) : ApiTestBase(fixture), IClassFixture<FastRecoveryFixture>
{
    [Fact]
    public async Task SendMessage_WithAnExpiredDeadline_IsDeadlineExceeded_AndWritesNothing()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.DeadlineExceeded, async () =>
        {
            using var call = Fixture.Client(user).SendMessage(new SendMessageRequest { ChatId = chat.ChatId, Text = "too late" },
                deadline: DateTime.UtcNow.AddMilliseconds(-1), cancellationToken: Ct);
            await call.ResponseStream.MoveNext(Ct);
        });

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(15)]
    [InlineData(40)]
    [InlineData(100)]
    public async Task SendMessage_DeadlineDuringTheCall_EndsWithoutInternal_AndLeavesNoHalfState(int deadlineMs)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user, greeting: ""));
        var callId = Guid.NewGuid().ToString("N");
        var outcome = fixture.Outcomes.Expect(callId);

        // The deadline travels as grpc-timeout; the server cancels the call's token when it passes.
        var status = await StatusOfAsync(async () =>
        {
            using var call = fixture.WithHeaders(("x-user-id", user), (ServerOutcomes.CallIdHeader, callId)).SendMessage(
                new SendMessageRequest { ChatId = chat.ChatId, Text = "racing the clock", RequestId = "deadline" },
                deadline: DateTime.UtcNow.AddMilliseconds(deadlineMs), cancellationToken: Ct);
            await call.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        });

        Assert.True(status is StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.OK, $"a {deadlineMs} ms deadline ended {status} at the client");
        await AssertServerOutcomeAsync(outcome);

        // Either nothing was recorded, or the user turn with its reply, which then completes.
        var userTurns = await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND AuthorRole = 1", ("c", chat.ChatId));
        var replies = await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND AuthorRole = 2", ("c", chat.ChatId));
        Assert.Equal(userTurns, replies);
        Assert.InRange(userTurns, 0, 1);
        await WaitUntilNothingOwedAsync(chat.ChatId);
        Assert.Equal(replies, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND State = 3", ("c", chat.ChatId)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public async Task GetHistory_DeadlineDuringTheCall_EndsWithoutInternal(int deadlineMs)
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var callId = Guid.NewGuid().ToString("N");
        var outcome = fixture.Outcomes.Expect(callId);

        var status = await StatusOfAsync(() => fixture.WithHeaders(("x-user-id", user), (ServerOutcomes.CallIdHeader, callId))
            .GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, deadline: DateTime.UtcNow.AddMilliseconds(deadlineMs), cancellationToken: Ct)
            .ResponseAsync);

        Assert.True(status is StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.OK, $"ended {status} at the client");
        await AssertServerOutcomeAsync(outcome);
    }

    /// <summary>
    /// How the service's handler ended, if it ran at all: a call whose deadline passed before
    /// it reached the service never gets one.
    /// </summary>
    private static async Task AssertServerOutcomeAsync(Task<StatusCode> outcome)
    {
        if (await Task.WhenAny(outcome, Task.Delay(TimeSpan.FromSeconds(3), Ct)) == outcome)
        {
            var code = await outcome;
            Assert.True(code is StatusCode.DeadlineExceeded or StatusCode.Cancelled or StatusCode.OK, $"the handler ended {code}");
        }
    }

    /// <summary>
    /// The status the client saw. Once the deadline passes the server resets the HTTP/2 stream
    /// (RST_STREAM CANCEL); over a socket the client reads that as CANCELLED, but the in-process
    /// test server surfaces it as an exception of its own, which the client reports as INTERNAL
    /// or UNAVAILABLE. That one case is read as CANCELLED here; the server's own outcome is
    /// checked separately.
    /// </summary>
    private static async Task<StatusCode> StatusOfAsync(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException ex) when (ex.Status.DebugException is not null)
        {
            // A status the client library made up from an exception below gRPC: through the
            // in-process test server, the reset that ends a call past its deadline (or the closed
            // pipe after it) surfaces so, as CANCELLED, INTERNAL or UNAVAILABLE depending on which
            // side of the race it lands. It is the client's, not the service's: a status the
            // service sent carries no exception.
            return StatusCode.Cancelled;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private async Task WaitUntilNothingOwedAsync(string chatId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND OwedShard IS NOT NULL", ("c", chatId)) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "a reply stayed owed");
            await Task.Delay(100, Ct);
        }
    }
}
