using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Infrastructure;
using ChatService.Tests.Limits;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Moderation;

/// <summary>
/// EditTurn while user texts are moderated: each edit is a classifier call, so it draws on the user's send
/// bucket (bursts of 3, then one every 30 s here: slow enough that no token comes back while the test uses up the burst on a loaded machine); over the limit it is RESOURCE_EXHAUSTED with a retry
/// delay, the classifier is not asked and nothing is written. Without moderation edits are not limited
/// (<see cref="RateLimitTests"/>).
/// </summary>
[Collection(ModerationMeterCollection.Name)]
public sealed class ModeratedEditLimitTests(ModeratedEditLimitTests.EditLimitFixture fixture) : ApiTestBase(fixture), IClassFixture<ModeratedEditLimitTests.EditLimitFixture>
{
    /// <summary>The simulated moderator on user messages, and a tight send bucket.</summary>
    public sealed class EditLimitFixture(LocalStack stack) : ChatServiceFixture(stack)
    {
        public const int Burst = 3;

        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>(FastSimulatedBackend)
        {
            ["Summary:Enabled"] = "false",
            ["Moderation:Moderator"] = "Simulated",
            ["Moderation:UserMessages"] = "Refuse",
            ["Moderation:Replies"] = "false",
            ["Moderation:Simulated:FlaggedTerms:harassment:0"] = "insultword",
            ["Limits:SendsPerMinute"] = "2",
            ["Limits:SendBurst"] = Burst.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // Quiet: nothing but the test reads Spanner, so its reads can be counted.
            ["Dispatch:SweepInterval"] = "01:00:00",
            ["Health:Period"] = "01:00:00",
            ["Summary:SweepInterval"] = "01:00:00",
            ["DataDeletion:SweepInterval"] = "01:00:00",
        };
    }

    [Fact]
    public async Task AModeratedEditTurn_ReadsOnceBeforeItsTransaction_AndSoDoesItsRetry_WhichIsNotCheckedAgain()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var userSeq = (await SendAsync(user, chat.ChatId, "The first words."))[0].Accepted.UserTurn.Seq;
        await Fixture.ChatCountsFoldedAsync(Ct);
        var spanner = Fixture.Service<SpannerDatabaseClient>().Statistics;
        using var counters = new ModerationCounters();

        // The first applies the edit, the second is its retry: each reads once (the record and the turn together), then commits.
        var edit = new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "The first words, edited.", RequestId = "edit-reads" };
        foreach (var call in new[] { "edit", "retry" })
        {
            var (reads, snapshots, transactions) = (spanner.SingleUseReads, spanner.Snapshots, spanner.Transactions);
            Assert.Equal(edit.Text, (await client.EditTurnAsync(edit, cancellationToken: Ct)).Text);
            Assert.True((1L, 0L, 1L) == (spanner.SingleUseReads - reads, spanner.Snapshots - snapshots, spanner.Transactions - transactions),
                $"{call}: {spanner.SingleUseReads - reads} single reads, {spanner.Snapshots - snapshots} snapshots, {spanner.Transactions - transactions} transactions");
        }

        Assert.Equal(1, counters["chat.moderation.checks{result=clean,target=user_message}"]);

        // EditAndRegenerate (another user's: each call takes a token of its sender's bucket) reads once before its reply
        // starts too: the record, the turn and the candidate its id names in one statement. Its retry makes the same read
        // (its reads are not counted: the reply it follows may read too) and is not checked again.
        var other = TestUsers.New();
        var theirs = await CreateChatAsync(other, await CreateCharacterAsync(other));
        var theirSeq = (await SendAsync(other, theirs.ChatId, "Hello."))[0].Accepted.UserTurn.Seq;
        await Fixture.ChatCountsFoldedAsync(Ct);
        var regenerate = new EditTurnRequest { ChatId = theirs.ChatId, Seq = theirSeq, Text = "Hello, edited.", RequestId = "edit-regenerate-reads" };
        var theirClient = Fixture.Client(other);
        var firstReads = spanner.SingleUseReads;
        using (var first = theirClient.EditAndRegenerate(regenerate, cancellationToken: Ct))
        {
            Assert.True(await first.ResponseStream.MoveNext(Ct));
            Assert.False(first.ResponseStream.Current.Accepted.Duplicate);
            Assert.True(spanner.SingleUseReads - firstReads == 1, $"EditAndRegenerate read {spanner.SingleUseReads - firstReads} times before its reply started");
            Assert.Equal(ReplyEvent.EventOneofCase.Completed, (await first.ResponseStream.ReadAllAsync(Ct).ToListAsync(Ct))[^1].EventCase);
        }

        var checks = counters["chat.moderation.checks{result=clean,target=user_message}"];
        var repeat = await ReadAllAsync(theirClient.EditAndRegenerate(regenerate, cancellationToken: Ct));
        Assert.True(repeat[0].Accepted.Duplicate);
        Assert.Equal(checks, counters["chat.moderation.checks{result=clean,target=user_message}"]);
    }

    [Fact]
    public async Task ModeratedEdits_DrawOnTheSendBucket_OverItAreResourceExhausted_WithoutAClassifierCallOrAWrite()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var sent = await SendAsync(user, chat.ChatId, "The first words.");
        var userSeq = sent[0].Accepted.UserTurn.Seq;

        // The send took one token; two edits take the rest of the burst.
        for (var i = 1; i < EditLimitFixture.Burst; i++)
        {
            await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = $"Edit {i}.", RequestId = $"edit-{i}" }, cancellationToken: Ct);
        }

        var before = await Fixture.SnapshotAsync();
        using var counters = new ModerationCounters();
        var ex = await AssertStatusAsync(StatusCode.ResourceExhausted, () =>
            client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "One edit too many." }, cancellationToken: Ct).ResponseAsync);

        Assert.Contains("2 per minute", ex.Status.Detail, StringComparison.Ordinal);
        var delay = RetryInfoAssert.RetryDelay(ex);
        Assert.InRange(delay, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(30));
        Assert.Equal(0, counters["chat.moderation.checks{result=clean,target=user_message}"]);
        Assert.Equal(before, await Fixture.SnapshotAsync());

        // A retry of an edit applied already is answered from its record: no token, no classifier call.
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "Edit 1.", RequestId = "edit-1" }, cancellationToken: Ct);
        Assert.Equal(0, counters["chat.moderation.checks{result=clean,target=user_message}"]);
        Assert.Equal(before, await Fixture.SnapshotAsync());

        // Sends draw on the same bucket; another user's edits are not limited by this one's.
        await AssertStatusAsync(StatusCode.ResourceExhausted, () => SendAsync(user, chat.ChatId, "And a message."));
        var other = TestUsers.New();
        var theirs = await CreateChatAsync(other, await CreateCharacterAsync(other));
        var theirSeq = (await SendAsync(other, theirs.ChatId, "Hello."))[0].Accepted.UserTurn.Seq;
        await Fixture.Client(other).EditTurnAsync(new EditTurnRequest { ChatId = theirs.ChatId, Seq = theirSeq, Text = "Hello, edited." }, cancellationToken: Ct);
        Assert.Equal(2, counters["chat.moderation.checks{result=clean,target=user_message}"]); // their send and their edit

        // After the delay the edit goes through, checked as ever.
        await Task.Delay(delay + TimeSpan.FromMilliseconds(300), Ct);
        var edited = await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "One edit, later." }, cancellationToken: Ct);
        Assert.Equal("One edit, later.", edited.Text);
        Assert.Equal(3, counters["chat.moderation.checks{result=clean,target=user_message}"]);
    }

    [Fact]
    public async Task AnEditRecordPastItsRetention_IsNoRecord_ARepeatWithNewTextIsCheckedAndRefused()
    {
        var user = TestUsers.New();
        var client = Fixture.Client(user);
        var chat = await CreateChatAsync(user, await CreateCharacterAsync(user));
        var userSeq = (await SendAsync(user, chat.ChatId, "The first words."))[0].Accepted.UserTurn.Seq;
        await client.EditTurnAsync(new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "Clean words.", RequestId = "old-edit" }, cancellationToken: Ct);

        // Recorded 8 days ago and not yet removed by the row deletion policy: the record is gone, so the id names no
        // applied edit. The check before the classifier must see it as the edit's transaction does, or the new text
        // would skip the classifier and be written unchecked.
        await Fixture.AgeOperationRecordAsync(chat.ChatId, "old-edit", Ct);
        using var counters = new ModerationCounters();
        await AssertStatusAsync(StatusCode.InvalidArgument, () => client.EditTurnAsync(
            new EditTurnRequest { ChatId = chat.ChatId, Seq = userSeq, Text = "You are an insultword.", RequestId = "old-edit" }, cancellationToken: Ct).ResponseAsync);

        Assert.Equal(1, counters["chat.moderation.checks{result=flagged,target=user_message}"]);
        var history = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct);
        Assert.Equal("Clean words.", history.Turns.Single(t => t.Seq == userSeq).Text);
    }
}
