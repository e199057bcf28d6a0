using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Shaping;

/// <summary>ForkChat against the emulator: what is copied, renumbered and recorded, up to a 10,000-turn chat.</summary>
public sealed class ForkTests(ChatServiceFixture fixture) : ApiTestBase(fixture), IClassFixture<ChatServiceFixture>
{
    [Fact]
    public async Task Fork_CopiesTheShownTurnsUpToTheTurn_AndRecordsWhereItCameFrom()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var source = await CreateChatAsync(user, character);
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(user, source.ChatId, $"message {i}"); // 2-7
        }

        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = source.ChatId, Seqs = { 2 } }, cancellationToken: Ct);

        var fork = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 5, RequestId = "fork-1" }, cancellationToken: Ct);

        Assert.NotEqual(source.ChatId, fork.ChatId);
        Assert.Equal(source.ChatId, fork.ForkedFrom.ChatId);
        Assert.Equal(5, fork.ForkedFrom.Seq);
        Assert.Equal(source.CharacterIds, fork.CharacterIds);
        Assert.Equal(4, fork.LastSeq); // 1, 3, 4, 5 renumbered 1-4
        var sourceTurns = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = source.ChatId }, cancellationToken: Ct)).Turns.Where(t => t.Seq <= 5).ToList();
        var forkTurns = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = fork.ChatId }, cancellationToken: Ct)).Turns.ToList();
        Assert.Equal([4L, 3, 2, 1], forkTurns.Select(t => t.Seq));
        Assert.Equal(sourceTurns.Select(t => (t.Role, t.Text, t.CharacterId, t.State)), forkTurns.Select(t => (t.Role, t.Text, t.CharacterId, t.State)));
        Assert.All(forkTurns.Where(t => t.Role == AuthorRole.Character), t => Assert.Equal(1, t.CandidateCount));
        // Source turn 3 answered turn 2, which was deleted; source 5 answered 4, now 3.
        Assert.Equal(0, forkTurns.Single(t => t.Seq == 2).ReplyToSeq);
        Assert.Equal(3, forkTurns.Single(t => t.Seq == 4).ReplyToSeq);

        // The same request returns the same chat; the fork is the user's own chat from now on.
        var again = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 5, RequestId = "fork-1" }, cancellationToken: Ct);
        Assert.Equal(fork.ChatId, again.ChatId);
        Assert.Equal(fork.ForkedFrom, (await client.GetChatAsync(new GetChatRequest { ChatId = fork.ChatId }, cancellationToken: Ct)).ForkedFrom);
        Assert.Contains((await client.ListChatsAsync(new ListChatsRequest(), cancellationToken: Ct)).Chats, c => c.ChatId == fork.ChatId);
        var events = await SendAsync(user, fork.ChatId, "in the fork");
        Assert.Equal(5, events[0].Accepted.UserTurn.Seq);
        Assert.Equal(7, (await client.GetChatAsync(new GetChatRequest { ChatId = source.ChatId }, cancellationToken: Ct)).LastSeq);
    }

    [Fact]
    public async Task Fork_CopiesTheMemoryNoteAndTheLorebooks_AndTheLatestSummaryOnlyWhenItEndsAtOrBeforeTheForkPoint()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var source = await CreateChatAsync(user, character);
        for (var i = 0; i < 3; i++)
        {
            await SendAsync(user, source.ChatId, $"message {i}"); // 2-7
        }

        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = source.ChatId, Seqs = { 2 } }, cancellationToken: Ct);
        await client.UpdateChatMemoryAsync(new UpdateChatMemoryRequest { ChatId = source.ChatId, Note = "Quinn owes Ruby ten doubloons.", Depth = 2 }, cancellationToken: Ct);
        var book = await client.CreateLorebookAsync(
            new CreateLorebookRequest { Lorebook = new Lorebook { Name = "World", Entries = { new LoreEntry { Keys = { "dragon" }, Content = "Dragons nest north." } } } },
            cancellationToken: Ct);
        await client.AttachLorebookAsync(new AttachLorebookRequest { ChatId = source.ChatId, LorebookId = book.LorebookId }, cancellationToken: Ct);
        // The latest live summary covers turns up to 5 (1, 3, 4 and 5 shown); a later version was discarded.
        await Fixture.Database.RunInTransactionAsync((tx, _) =>
        {
            SpannerMutation Summary(long version, long through, string text) => SpannerMutation.Insert("ChatSummaries")
                .Set("ChatId", source.ChatId).Set("Version", version).Set("BaseVersion", version - 1).Set("FromSeq", 1L).Set("ThroughSeq", through)
                .Set("Text", text).Set("TurnCount", through).Set("Replica", "test").Set("CreateTime", SpannerCommitTimestamp.Value);
            tx.BufferWrite(Summary(1, 5, "They met in Lisbon."));
            tx.BufferWrite(Summary(2, 7, "DISCARDED").Set("DiscardTime", SpannerCommitTimestamp.Value));
            return Task.CompletedTask;
        }, Ct);

        var atFive = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 5, RequestId = "fork-5" }, cancellationToken: Ct);
        var atFour = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 4, RequestId = "fork-4" }, cancellationToken: Ct);

        var five = await client.GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = atFive.ChatId }, cancellationToken: Ct);
        Assert.Equal(("Quinn owes Ruby ten doubloons.", 2), (five.Note, five.Depth));
        Assert.NotNull(five.Summary);
        // Renumbered: source turn 5 is the fork's turn 4.
        Assert.Equal((1L, 4L, "They met in Lisbon."), (five.Summary.Version, five.Summary.ThroughSeq, five.Summary.Text));

        // The summary covers turn 5, after this fork's point: the fork has none, but the note all the same.
        var four = await client.GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = atFour.ChatId }, cancellationToken: Ct);
        Assert.Equal("Quinn owes Ruby ten doubloons.", four.Note);
        Assert.Null(four.Summary);

        foreach (var fork in new[] { atFive, atFour })
        {
            var books = await client.ListLorebooksAsync(new ListLorebooksRequest { ChatId = fork.ChatId }, cancellationToken: Ct);
            Assert.Equal([book.LorebookId], books.Lorebooks.Select(b => b.LorebookId));
        }

        // The source keeps its own.
        var sourceBooks = await client.ListLorebooksAsync(new ListLorebooksRequest { ChatId = source.ChatId }, cancellationToken: Ct);
        Assert.Equal([book.LorebookId], sourceBooks.Lorebooks.Select(b => b.LorebookId));

        // The fork's reply uses the copied book: "dragon" brings its entry into the prompt.
        await SendAsync(user, atFive.ChatId, "Is that a dragon?");
        var prompt = await client.GetReplyPromptAsync(new GetReplyPromptRequest { ChatId = atFive.ChatId, Seq = 6 }, cancellationToken: Ct);
        Assert.Contains(prompt.Messages, m => m.Content.Contains("Dragons nest north.", StringComparison.Ordinal));
        Assert.Contains(prompt.Messages, m => m.Content.Contains("They met in Lisbon.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fork_LeavesBehindASummaryWhoseTurnsAreAllHidden()
    {
        var user = TestUsers.New();
        var source = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, source.ChatId, "message"); // 2-3
        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = source.ChatId, Seqs = { 1, 2 } }, cancellationToken: Ct);
        // The latest live summary covers turns 1 and 2, both hidden now: it summarizes none of the fork's turns.
        await Fixture.Database.RunInTransactionAsync((tx, _) =>
        {
            tx.BufferWrite(SpannerMutation.Insert("ChatSummaries")
                .Set("ChatId", source.ChatId).Set("Version", 1L).Set("BaseVersion", 0L).Set("FromSeq", 1L).Set("ThroughSeq", 2L)
                .Set("Text", "Nothing left of it.").Set("TurnCount", 2L).Set("Replica", "test").Set("CreateTime", SpannerCommitTimestamp.Value));
            return Task.CompletedTask;
        }, Ct);

        var fork = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 3, RequestId = "fork-3" }, cancellationToken: Ct);

        var memory = await client.GetChatMemoryAsync(new GetChatMemoryRequest { ChatId = fork.ChatId }, cancellationToken: Ct);
        Assert.Null(memory.Summary);
    }

    [Fact]
    public async Task Fork_OfA10000TurnChat_IsComplete()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var source = await CreateChatAsync(user, character); // turn 1: the greeting
        const int turns = 10_000;
        await InsertTurnsAsync(source.ChatId, character.CharacterId, from: 2, to: turns);
        var client = Fixture.Client(user);

        var fork = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = turns, RequestId = "big" }, cancellationToken: Ct);

        Assert.Equal(turns, fork.LastSeq);
        Assert.Equal(turns, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", fork.ChatId)));
        Assert.Equal(turns / 2, await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c", ("c", fork.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync(
            """
            SELECT COUNT(*) FROM Turns s JOIN Turns f ON f.ChatId = @f AND f.Seq = s.Seq
            WHERE s.ChatId = @s AND (s.AuthorRole != f.AuthorRole OR IFNULL(s.Text, '') != IFNULL(f.Text, '') OR IFNULL(s.ReplyToSeq, 0) != IFNULL(f.ReplyToSeq, 0))
            """, ("s", source.ChatId), ("f", fork.ChatId)));
        Assert.Equal(0, await Fixture.CountAsync(
            """
            SELECT COUNT(*) FROM Turns s
            JOIN Candidates sc ON sc.ChatId = s.ChatId AND sc.Seq = s.Seq AND sc.CandidateId = s.PrimaryCandidateId
            JOIN Turns f ON f.ChatId = @f AND f.Seq = s.Seq
            JOIN Candidates fc ON fc.ChatId = f.ChatId AND fc.Seq = f.Seq AND fc.CandidateId = f.PrimaryCandidateId
            WHERE s.ChatId = @s AND sc.Text != fc.Text
            """, ("s", source.ChatId), ("f", fork.ChatId)));
        var page = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = fork.ChatId, PageSize = 100 }, cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(turns - 99, 100).Reverse().Select(i => (long)i), page.Turns.Select(t => t.Seq));
    }

    [Fact]
    public async Task BadForks_AreRefusedAndWriteNothing()
    {
        var user = TestUsers.New();
        var source = await CreateChatAsync(user, await CreateCharacterAsync(user));
        await SendAsync(user, source.ChatId, "hello"); // 2, 3
        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = source.ChatId, Seqs = { 3 } }, cancellationToken: Ct);
        var before = await Fixture.SnapshotAsync();

        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 9 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 3 }, cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => Fixture.Client(TestUsers.New()).ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1 }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(before, await Fixture.SnapshotAsync());
    }

    [Fact]
    public async Task AForkWithoutATitle_OfASourceWhoseStoredTitleShowsNothing_IsTitledWithTheCastsNames()
    {
        var user = TestUsers.New();
        var ada = await CreateCharacterAsync(user, "Ada");
        var source = await CreateChatAsync(user, ada);
        // A title of only spaces and a Hangul filler, stored before CreateChat refused such titles.
        await Fixture.Database.WriteAsync([SpannerMutation.Update("Chats").Set("ChatId", source.ChatId).Set("Title", " \u3164 ")], Ct);

        var fork = await Fixture.Client(user).ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1, RequestId = "blank" }, cancellationToken: Ct);

        Assert.Equal("Ada", fork.Title);
    }

    [Fact]
    public async Task AForkRecordPastItsRetention_IsGone_ARetryForksAfresh()
    {
        var user = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var source = await CreateChatAsync(user, character);
        var client = Fixture.Client(user);
        var first = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1, RequestId = "old" }, cancellationToken: Ct);
        // Recorded 8 days ago and not yet removed by the row deletion policy (which runs when it likes): an interrupted
        // fork's record is read as gone from the same age on, so the sweep may delete such a fork's chat.
        await Fixture.AgeOperationRecordAsync(source.ChatId, "old", Ct);

        var again = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1, RequestId = "old" }, cancellationToken: Ct);
        var third = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1, RequestId = "old" }, cancellationToken: Ct);

        Assert.NotEqual(first.ChatId, again.ChatId);
        Assert.Equal(again.ChatId, third.ChatId); // recorded afresh over the expired row
    }

    [Fact]
    public async Task DeleteChat_DeletesItsInterruptedForks_ButNotAFinishedOneOrAnotherChatsFork()
    {
        var user = TestUsers.New();
        var other = TestUsers.New();
        var character = await CreateCharacterAsync(user);
        var source = await CreateChatAsync(user, character);
        var theirs = await CreateChatAsync(other, await CreateCharacterAsync(other));
        var client = Fixture.Client(user);
        var finished = await client.ForkChatAsync(new ForkChatRequest { ChatId = source.ChatId, AtSeq = 1, RequestId = "done" }, cancellationToken: Ct);
        // What a ForkChat stopped after its first commits leaves: a chat owned by nobody, forked from its source, some turns copied.
        var interrupted = await OwnerlessChats.SeedAsync(Fixture.Database, character.CharacterId, Ct, forkedFrom: source.ChatId);
        var theirInterrupted = await OwnerlessChats.SeedAsync(Fixture.Database, theirs.CharacterIds[0], Ct, forkedFrom: theirs.ChatId);

        await client.DeleteChatAsync(new DeleteChatRequest { ChatId = source.ChatId }, cancellationToken: Ct);

        // Its record went with the source, so nothing could ever finish or delete it later.
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId IN UNNEST(@ids)", ("ids", new List<string> { source.ChatId, interrupted })));
        Assert.Equal(0, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", interrupted)));
        Assert.Equal(finished.ChatId, (await client.GetChatAsync(new GetChatRequest { ChatId = finished.ChatId }, cancellationToken: Ct)).ChatId);
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Chats WHERE ChatId = @c AND UserId = ''", ("c", theirInterrupted)));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Turns WHERE ChatId = @c", ("c", theirInterrupted)));
    }

    /// <summary>Turns from..to straight into Spanner: even ones the user's, odd ones the character's answers to them.</summary>
    private async Task InsertTurnsAsync(string chatId, string characterId, int from, int to)
    {
        for (var start = from; start <= to; start += 1000)
        {
            var end = Math.Min(to, start + 999);
            await Fixture.Database.RunInTransactionAsync((tx, _) =>
            {
                for (var seq = start; seq <= end; seq++)
                {
                    var user = seq % 2 == 0;
                    var candidateId = user ? null : Guid.NewGuid().ToString();
                    tx.BufferWrite(SpannerMutation.Insert("Turns")
                        .Set("ChatId", chatId).Set("Seq", (long)seq).Set("AuthorRole", user ? 1L : 2L)
                        .Set("CharacterId", user ? null : characterId).Set("Text", user ? $"message {seq}" : null)
                        .Set("ReplyToSeq", user ? null : (long?)(seq - 1)).Set("PrimaryCandidateId", candidateId)
                        .Set("CandidateCount", user ? 0L : 1L)
                        .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
                    if (!user)
                    {
                        tx.BufferWrite(SpannerMutation.Insert("Candidates")
                            .Set("ChatId", chatId).Set("Seq", (long)seq).Set("CandidateId", candidateId).Set("State", 3L)
                            .Set("Text", $"reply {seq}")
                            .Set("CreateTime", SpannerCommitTimestamp.Value).Set("UpdateTime", SpannerCommitTimestamp.Value));
                    }
                }

                if (end == to)
                {
                    tx.BufferWrite(SpannerMutation.Update("Chats").Set("ChatId", chatId).Set("NextSeq", (long)to));
                }

                return Task.CompletedTask;
            });
        }
    }
}
