using ChatService.Api.V1;
using ChatService.Tests.Infrastructure;

namespace ChatService.Tests.Api;

public sealed class SendMessageTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task SendMessage_RecordsUserTurnAndOwedReplyInSpanner()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user);
        var chat = await CreateChatAsync(user, ada);

        // The simulated backend holds this reply before its first token, so it stays owed while we look.
        using var call = Fixture.Client(user).SendMessage(
            new SendMessageRequest { ChatId = chat.ChatId, Text = "What is a prime number? [sim:hang]", RequestId = "req-1" }, cancellationToken: Ct);
        Assert.True(await call.ResponseStream.MoveNext(Ct));

        var accepted = call.ResponseStream.Current;
        Assert.Equal(1, accepted.Sequence);
        Assert.False(accepted.Accepted.Duplicate);
        var userTurn = accepted.Accepted.UserTurn;
        var reply = Assert.Single(accepted.Accepted.PendingTurns);
        Assert.Equal((2L, AuthorRole.User, "What is a prime number? [sim:hang]"), (userTurn.Seq, userTurn.Role, userTurn.Text));
        Assert.Equal((3L, AuthorRole.Character, ada.CharacterId, TurnState.Pending, 2L), (reply.Seq, reply.Role, reply.CharacterId, reply.State, reply.ReplyToSeq));
        Assert.Equal((reply.Seq, reply.CandidateId), (accepted.Seq, accepted.CandidateId));

        // The emulator's own tables hold both turns, and the reply is marked owed and leased.
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND Seq = 2 AND AuthorRole = 1 AND Text = 'What is a prime number? [sim:hang]' AND RequestId = 'req-1'",
            ("c", chat.ChatId)));
        Assert.Equal(1, await Fixture.CountAsync(
            "SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND Seq = 3 AND CandidateId = @id AND State = 1 " +
            "AND OwedShard IS NOT NULL AND LeaseOwner IS NOT NULL AND LeaseUntil > CURRENT_TIMESTAMP()",
            ("c", chat.ChatId), ("id", reply.CandidateId)));
        Assert.Equal(3, await Fixture.CountAsync("SELECT NextSeq FROM Chats WHERE ChatId = @c", ("c", chat.ChatId)));

        var cancelled = await Fixture.Client(user).CancelReplyAsync(new CancelReplyRequest { ChatId = chat.ChatId, Seq = reply.Seq }, cancellationToken: Ct);
        Assert.Equal(TurnState.Cancelled, cancelled.State);
    }

    [Fact]
    public async Task SendMessage_SameRequestId_RecordsOneTurn()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var first = (await SendAsync(user, chat.ChatId, "once", "same-id"))[0];
        var before = await Fixture.SnapshotAsync();

        var again = (await SendAsync(user, chat.ChatId, "once", "same-id"))[0];

        Assert.True(again.Accepted.Duplicate);
        Assert.Equal(first.Accepted.UserTurn.Seq, again.Accepted.UserTurn.Seq);
        Assert.Equal(first.Accepted.PendingTurns.Select(t => (t.Seq, t.CandidateId)), again.Accepted.PendingTurns.Select(t => (t.Seq, t.CandidateId)));
        Assert.Equal(before, await Fixture.SnapshotAsync());
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND RequestId = 'same-id'", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task SendMessage_SameRequestIdConcurrently_RecordsOneTurn()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => SendAsync(user, chat.ChatId, "racing", "race-id")));

        Assert.Single(results.Select(r => r[0].Accepted.UserTurn.Seq).Distinct());
        Assert.Equal(5, results.Count(r => r[0].Accepted.Duplicate));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c AND AuthorRole = 1", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task SendMessage_ConcurrentSends_GetGapFreeDistinctSeqs()
    {
        var user = TestUsers.New();
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => SendAsync(user, chat.ChatId, $"message {i}", $"m{i}")));

        var seqs = results.SelectMany(r => new[] { r[0].Accepted.UserTurn.Seq }.Concat(r[0].Accepted.PendingTurns.Select(t => t.Seq))).Order().ToList();
        Assert.Equal(Enumerable.Range(2, 16).Select(i => (long)i), seqs);
        Assert.Equal(17, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", chat.ChatId)));
        // Every user turn is immediately followed by its owed reply.
        foreach (var r in results)
        {
            Assert.Equal(r[0].Accepted.UserTurn.Seq + 1, Assert.Single(r[0].Accepted.PendingTurns).Seq);
        }
    }

    [Fact]
    public async Task SendMessage_GroupChat_RotatesSpeakersAndHonoursNamedOnes()
    {
        var user = TestUsers.New();
        var a = await CreateCharacterAsync(user, "A", "");
        var b = await CreateCharacterAsync(user, "B", "");
        var c = await CreateCharacterAsync(user, "C", "");
        var chat = await CreateChatAsync(user, a, b, c);

        var speakers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            speakers.Add(Assert.Single((await SendAsync(user, chat.ChatId, $"turn {i}"))[0].Accepted.PendingTurns).CharacterId);
        }

        var named = (await SendAsync(user, chat.ChatId, "you two", "", c.CharacterId, a.CharacterId))[0].Accepted.PendingTurns;
        var afterNamed = (await SendAsync(user, chat.ChatId, "and next"))[0].Accepted.PendingTurns;

        Assert.Equal([a.CharacterId, b.CharacterId, c.CharacterId, a.CharacterId], speakers);
        Assert.Equal([c.CharacterId, a.CharacterId], named.Select(t => t.CharacterId));
        Assert.Equal(named[0].Seq + 1, named[1].Seq);
        Assert.Equal(b.CharacterId, Assert.Single(afterNamed).CharacterId);
    }
}
