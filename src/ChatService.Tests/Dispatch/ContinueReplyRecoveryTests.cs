using ChatService.Api.V1;
using ChatService.Testing;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Dispatch;

/// <summary>
/// The service process is SIGKILLed while it generates a continuation (ContinueReply); another one
/// recovers it and appends to the text the reply had, never replacing it or appending twice.
/// </summary>
public sealed class ContinueReplyRecoveryTests(LocalStack stack) : IAsyncLifetime
{
    private readonly ProcessDatabase _database = new(stack, "kc");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Dictionary<string, string> Settings(string replica, int maxRecoveryAttempts = 5) => _database.Settings(replica, new Dictionary<string, string>
    {
        ["Chat:ReplyLease"] = "00:00:03",
        ["Chat:MaxRecoveryAttempts"] = maxRecoveryAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Dispatch:SweepInterval"] = "00:00:00.500",
        // Slow enough that the continuation is mid-generation when the process dies (about 4 s a reply).
        ["Inference:Backends:sim:Kind"] = "Simulated",
        ["Inference:Backends:sim:TimeToFirstToken"] = "00:00:00.100",
        ["Inference:Backends:sim:TokensPerSecond"] = "10",
        ["Inference:Backends:sim:MinTokens"] = "35",
        ["Inference:Backends:sim:MaxTokens"] = "45",
        ["Inference:Routes:default:0"] = "sim",
    });

    [Fact]
    public async Task KilledMidContinuation_TheRecoveredContinuationAppendsToTheOldText()
    {
        var user = TestUsers.New();
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        var (chatId, seq, candidateId, old) = await KillMidContinuationAsync(user, database, beforeItsFirstToken: false);

        await using var second = await ServiceProcess.StartAsync(Settings("replica-b"), Ct);
        await WaitUntilRecoveredAsync(database, chatId, candidateId, second);

        // Appended once to the old text, on the same candidate.
        var stored = await CandidateAsync(database, chatId, candidateId);
        Assert.Equal((3L, 1L), (stored.State, stored.Continuations));
        Assert.StartsWith(old, stored.Text);
        Assert.True(stored.Text.Length > old.Length, $"nothing was appended to \"{old}\"");
        Assert.DoesNotContain(old, stored.Text[old.Length..]);
        Assert.Equal(1, await database.CountAsync($"SELECT COUNT(*) FROM Candidates WHERE ChatId = '{chatId}'"));

        // The recovered attempt was prompted with the old text as the assistant's, and its stream (from
        // another replica, through the restart) adds up to the stored text after the text it was accepted with.
        var client2 = second.Client(user);
        var prompt = await client2.GetReplyPromptAsync(new GetReplyPromptRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);
        Assert.Equal(("assistant", old), (prompt.Messages[^1].Role, prompt.Messages[^1].Content));
        using var follow = client2.StreamReply(new StreamReplyRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);
        var events = await follow.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct);
        Assert.Equal(ReplyEvent.EventOneofCase.Completed, events[^1].EventCase);
        Assert.Equal(stored.Text, events[^1].Completed.Turn.Text);
        Assert.True(events[0].Accepted.Continuation);
        var restart = events.FindLastIndex(e => e.EventCase == ReplyEvent.EventOneofCase.Restarted);
        var after = string.Concat(events.Skip(restart + 1).Where(e => e.EventCase == ReplyEvent.EventOneofCase.Delta).Select(e => e.Delta.Text));
        Assert.Equal(stored.Text, events[0].Accepted.PendingTurns[0].Text + after);
        var history = await client2.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct);
        Assert.Equal((stored.Text, TurnState.Complete, 1), (history.Turns[0].Text, history.Turns[0].State, history.Turns[0].Continuations));
    }

    [Fact]
    public async Task AContinuationRecoveryGivesUpOn_HavingAddedNothing_EndsItsLogFailed_AndItsStorageReplayToo()
    {
        var user = TestUsers.New();
        await using var database = SpannerDatabaseClient.Create(_database.SpannerOptions);
        var (chatId, seq, candidateId, old) = await KillMidContinuationAsync(user, database, beforeItsFirstToken: true);

        // The continuation has used its one recovery attempt already (as if a replica before this one had died
        // with it too): recovery gives up on its next claim, and the candidate goes back to what it was.
        await database.WriteAsync([SpannerMutation.Update("Candidates").Set("ChatId", chatId).Set("Seq", seq).Set("CandidateId", candidateId).Set("RecoveryAttempts", 1L)], Ct);
        await using var second = await ServiceProcess.StartAsync(Settings("replica-b", maxRecoveryAttempts: 1), Ct);
        await WaitUntilRecoveredAsync(database, chatId, candidateId, second);

        var restored = await CandidateAsync(database, chatId, candidateId);
        Assert.Equal((old, 3L, 1L), (restored.Text, restored.State, restored.Continuations));

        // Its log ends Failed RECOVERY_EXHAUSTED (followed from the log), and so does the replay from storage once the log is gone.
        var client2 = second.Client(user);
        async Task<ReplyEvent> EndAsync()
        {
            using var follow = client2.StreamReply(new StreamReplyRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);
            return (await follow.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct))[^1];
        }

        var fromLog = await EndAsync();
        using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration))
        {
            Assert.True(await redis.GetDatabase().DeleteWhenEndedAsync($"chat:{{{chatId}}}:r:{seq}:{candidateId}:c1", Ct), "the continuation's log was not there");
        }

        var fromStorage = await EndAsync();
        foreach (var end in new[] { fromLog, fromStorage })
        {
            Assert.Equal(ReplyEvent.EventOneofCase.Failed, end.EventCase);
            Assert.Equal(("RECOVERY_EXHAUSTED", old, TurnState.Complete), (end.Failed.Code, end.Failed.Turn.Text, end.Failed.Turn.State));
        }
    }

    /// <summary>
    /// On a first replica: a chat with one exchange, then a continuation of its reply, and the process SIGKILLed
    /// once the continuation's log (:c1) holds its Accepted (its first append), so recovery finds it there. The
    /// continuation has streamed text by then, or (<paramref name="beforeItsFirstToken"/>) the backend hangs before
    /// its first token, so it has added nothing. Checks the candidate is left owed by that replica, with the old text.
    /// </summary>
    private async Task<(string ChatId, long Seq, string CandidateId, string Old)> KillMidContinuationAsync(
        string user, SpannerDatabaseClient database, bool beforeItsFirstToken)
    {
        string chatId, candidateId, old;
        long seq;
        await using (var first = await ServiceProcess.StartAsync(Settings("replica-a"), Ct))
        {
            var client = first.Client(user);
            var character = await client.CreateCharacterAsync(new CreateCharacterRequest { DisplayName = "Ada", Persona = "A mathematician." }, cancellationToken: Ct);
            chatId = (await client.CreateChatAsync(new CreateChatRequest { CharacterIds = { character.CharacterId } }, cancellationToken: Ct)).ChatId;
            using (var send = client.SendMessage(new SendMessageRequest { ChatId = chatId, Text = "Tell me about primes.", RequestId = "send-1" }, cancellationToken: Ct))
            {
                var reply = (await send.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct))[^1].Completed.Turn;
                (seq, candidateId, old) = (reply.Seq, reply.CandidateId, reply.Text);
            }

            Assert.NotEmpty(old);
            if (beforeItsFirstToken)
            {
                // The prompt's newest user turn makes the backend hang before its first token.
                await client.EditTurnAsync(new EditTurnRequest { ChatId = chatId, Seq = seq - 1, Text = "Tell me about primes. [sim:hang]" }, cancellationToken: Ct);
            }

            using var call = client.ContinueReply(new ContinueReplyRequest { ChatId = chatId, Seq = seq, RequestId = "continue-1" }, cancellationToken: Ct);
            if (beforeItsFirstToken)
            {
                Assert.True(await call.ResponseStream.MoveNext(Ct));
                Assert.True(call.ResponseStream.Current.Accepted.Continuation);
            }
            else
            {
                while (await call.ResponseStream.MoveNext(Ct) && call.ResponseStream.Current.EventCase != ReplyEvent.EventOneofCase.Delta)
                {
                }

                Assert.Equal(ReplyEvent.EventOneofCase.Delta, call.ResponseStream.Current.EventCase);
            }

            // The delta may reach the caller before its batch is in Redis: kill only once the log holds the Accepted.
            using (var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(stack.RedisConfiguration))
            {
                await redis.GetDatabase().WaitForFirstAsync($"chat:{{{chatId}}}:r:{seq}:{candidateId}:c1", Ct);
            }

            await first.KillAsync();
        }

        // Owed, so the wait for its recovery below cannot end before it starts.
        var owed = await CandidateAsync(database, chatId, candidateId);
        Assert.Equal((old, 1L, "replica-a", true), (owed.Text, owed.Continuations, owed.LeaseOwner, owed.Owed));
        return (chatId, seq, candidateId, old);
    }

    /// <summary>Waits (60 s at most) until the candidate is no longer owed.</summary>
    private static async Task WaitUntilRecoveredAsync(SpannerDatabaseClient database, string chatId, string candidateId, ServiceProcess second)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await CandidateAsync(database, chatId, candidateId)).Owed)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the continuation is still owed after 60 s:\n{second.Output}");
            await Task.Delay(250, Ct);
        }
    }

    private static async Task<(string Text, long State, long Continuations, string? LeaseOwner, bool Owed)> CandidateAsync(
        SpannerDatabaseClient database, string chatId, string candidateId)
    {
        var row = (await database.QueryListAsync(new SpannerStatement(
                "SELECT IFNULL(Text, '') AS Text, State, IFNULL(Continuations, 0) AS Continuations, LeaseOwner, OwedShard IS NOT NULL AS Owed FROM Candidates WHERE ChatId = @c AND CandidateId = @id")
            .Add("c", chatId).Add("id", candidateId)))[0];
        return (row.Get<string>("Text"), row.Get<long>("State"), row.Get<long>("Continuations"), row.Get<string?>("LeaseOwner"), row.Get<bool>("Owed"));
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _database.DisposeAsync();
    }
}
