using ChatService.Api.V1;
using ChatService.Chats;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ChatService.Tests.Cache;

/// <summary>The service with no Redis configured at all (<c>Redis:Endpoints</c> empty).</summary>
public sealed class NoRedisFixture(LocalStack stack) : ChatServiceFixture(stack)
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
    {
        ["Redis:Endpoints"] = "",
    };
}

/// <summary>
/// Without Redis the stores' change sink and the window source are no-ops and every read goes to
/// Spanner through the same stores: the whole flow works, with no second code path.
/// </summary>
public sealed class NoRedisTests(NoRedisFixture fixture) : ApiTestBase(fixture), IClassFixture<NoRedisFixture>
{
    [Fact]
    public void WithoutRedis_TheCacheSeamsAreNoOps()
    {
        Assert.Equal(0, Fixture.Service<IChatWindows>().MaxTurns);
        Assert.Null(Fixture.Factory.Services.GetService<StackExchange.Redis.IConnectionMultiplexer>());
    }

    [Fact]
    public async Task WithoutRedis_SendRegenerateSelectAndHistory_AllWorkFromSpanner()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, character);
        var client = Fixture.Client(user);

        var sent = await SendAsync(user, chat.ChatId, "hello without a cache");
        var reply = sent[^1].Completed.Turn;
        Assert.Equal(TurnState.Complete, reply.State);

        using (var swipe = client.Regenerate(new RegenerateRequest { ChatId = chat.ChatId, Seq = reply.Seq, RequestId = "swipe-1" }, cancellationToken: Ct))
        {
            await foreach (var _ in swipe.ResponseStream.ReadAllAsync(Ct))
            {
            }
        }

        await client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = reply.Seq, CandidateId = reply.CandidateId }, cancellationToken: Ct);

        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal([reply.Seq, reply.Seq - 1, 1L], history.Turns.Select(t => t.Seq));
        Assert.Equal((reply.CandidateId, reply.Text), (history.Turns[0].CandidateId, history.Turns[0].Text));
        Assert.Equal(2, history.Turns[0].CandidateCount);

        var truth = await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = @s", ("c", chat.ChatId), ("s", reply.Seq));
        Assert.Equal(2, truth);
    }
}
