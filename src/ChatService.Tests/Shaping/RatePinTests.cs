using System.Text.RegularExpressions;
using ChatService.Api.V1;
using ChatService.Tests.Api;
using ChatService.Tests.Dispatch;
using ChatService.Tests.Infrastructure;
using Grpc.Core;
using Spanner.Client;

namespace ChatService.Tests.Shaping;

/// <summary>Rating candidates, pinning turns and pinned turns in prompts, through the cache, against the emulator and the Redis Cluster.</summary>
public sealed partial class RatePinTests(OpenAIBackedFixture fixture) : ShapingTestBase(fixture), IClassFixture<OpenAIBackedFixture>
{
    private const string Reply = "Ahoy, matey! The treasure is under the palm.";

    [Fact]
    public async Task Rating_RoundTrips_ThroughTheCacheAndSpanner_AndRatingAgainReplacesIt()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1 greeting, 2-5 two exchanges
        var client = Fixture.Client(user);
        await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct); // the window is cached

        var rating = await client.RateCandidateAsync(
            new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 3, Tags = { "funny", "out_of_character" }, Comment = "Close." }, cancellationToken: Ct);

        Assert.Equal(3, rating.Stars);
        Assert.NotNull(rating.UpdateTime);
        Assert.Equal(rating, await CachedRatingAsync(client, chat.ChatId, 3));
        Assert.Equal(rating, await StoredRatingAsync(client, chat.ChatId, 3));

        var again = await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 1 }, cancellationToken: Ct);

        Assert.Equal(1, again.Stars);
        Assert.Empty(again.Tags);
        Assert.Equal("", again.Comment);
        Assert.True(again.UpdateTime.ToDateTimeOffset() > rating.UpdateTime.ToDateTimeOffset());
        Assert.Equal(again, await CachedRatingAsync(client, chat.ChatId, 3));
        Assert.Equal(again, await StoredRatingAsync(client, chat.ChatId, 3));
        Assert.Equal(1, await Fixture.CountAsync("SELECT COUNT(*) FROM Ratings WHERE ChatId = @c", ("c", chat.ChatId)));
    }

    [Fact]
    public async Task Rating_ANonPrimaryCandidate_IsStored_AndShownOnceSelected()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        var first = (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).Turns[0];
        await client.RegenerateAsync(chat.ChatId, 3);
        await WaitUntilSettledAsync(chat.ChatId);

        await client.RateCandidateAsync(new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, CandidateId = first.CandidateId, Stars = 4 }, cancellationToken: Ct);

        Assert.Null(await CachedRatingAsync(client, chat.ChatId, 3));
        var selected = await client.SelectCandidateAsync(new SelectCandidateRequest { ChatId = chat.ChatId, Seq = 3, CandidateId = first.CandidateId }, cancellationToken: Ct);
        Assert.Equal(4, selected.Rating.Stars);
        Assert.Equal(4, (await CachedRatingAsync(client, chat.ChatId, 3))!.Stars);
    }

    [Fact]
    public async Task BadRatings_AreInvalidArgumentNamingTheField_AndRefusedRatingsWriteNothing()
    {
        // At the limits it is accepted.
        var (other, otherChat) = await ChatWithExchangesAsync(1);
        await Fixture.Client(other).RateCandidateAsync(new RateCandidateRequest
        {
            ChatId = otherChat.ChatId, Seq = 3, Stars = 4, Tags = { Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 32)) }, Comment = new string('c', 2000),
        }, cancellationToken: Ct);

        var (user, chat) = await ChatWithExchangesAsync(2); // 1-5
        var client = Fixture.Client(user);
        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 5 } }, cancellationToken: Ct);
        var before = await SnapshotAsync();

        RateCandidateRequest Rate(Action<RateCandidateRequest> change)
        {
            var request = new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 2 };
            change(request);
            return request;
        }

        var invalid = new (RateCandidateRequest Request, string Field)[]
        {
            (Rate(r => r.Stars = 0), "stars"),
            (Rate(r => r.Stars = 5), "stars"),
            (Rate(r => r.Tags.Add(Enumerable.Range(0, 9).Select(i => $"tag{i}"))), "tags"),
            (Rate(r => r.Tags.Add(["ok", new string('x', 33)])), "tags[1]"),
            (Rate(r => r.Tags.Add("two words")), "tags[0]"),
            (Rate(r => r.Tags.Add("")), "tags[0]"),
            (Rate(r => r.Tags.Add(["same", "same"])), "tags[1]"),
            (Rate(r => r.Comment = new string('c', 2001)), "comment"),
            (Rate(r => r.CandidateId = "not-an-id"), "candidate_id"),
            (Rate(r => r.Seq = 0), "seq"),
        };
        foreach (var (request, field) in invalid)
        {
            var ex = await AssertStatusAsync(StatusCode.InvalidArgument, () => client.RateCandidateAsync(request, cancellationToken: Ct).ResponseAsync);
            Assert.Equal(field, FieldOf(ex));
        }

        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.RateCandidateAsync(Rate(r => r.Seq = 2), cancellationToken: Ct).ResponseAsync); // a user turn
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => client.RateCandidateAsync(Rate(r => r.Seq = 5), cancellationToken: Ct).ResponseAsync); // deleted
        await AssertStatusAsync(StatusCode.NotFound, () => client.RateCandidateAsync(Rate(r => r.Seq = 42), cancellationToken: Ct).ResponseAsync);
        await AssertStatusAsync(StatusCode.NotFound, () => client.RateCandidateAsync(Rate(r => r.CandidateId = Guid.NewGuid().ToString()), cancellationToken: Ct).ResponseAsync);
        var stranger = Fixture.Client(TestUsers.New());
        await AssertStatusAsync(StatusCode.NotFound, () => stranger.RateCandidateAsync(Rate(_ => { }), cancellationToken: Ct).ResponseAsync);

        Assert.Equal(before, await SnapshotAsync());
    }

    [Fact]
    public async Task TrainingExportQuery_FromTheReadme_YieldsTheRatedReply()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var rating = await Fixture.Client(user).RateCandidateAsync(
            new RateCandidateRequest { ChatId = chat.ChatId, Seq = 3, Stars = 4, Tags = { "clear" }, Comment = "Just right." }, cancellationToken: Ct);

        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement(ReadmeExportQuery()), cancellationToken: Ct);

        var row = Assert.Single(rows, r => r.Get<string>("CandidateText") == Reply && r.Get<string?>("Comment") == "Just right.");
        Assert.Equal("llm", row.Get<string>("Backend"));
        Assert.Equal("test-model", row.Get<string>("Model"));
        Assert.Equal(42, row.Get<long>("PromptTokens"));
        Assert.Equal(5, row.Get<long>("CompletionTokens"));
        Assert.Equal(4, row.Get<long>("Stars"));
        Assert.Equal(["clear"], row.Get<List<string>>("Tags"));
        Assert.Equal(rating.UpdateTime.ToDateTimeOffset(), row.Get<DateTimeOffset>("RatingTime"));
    }

    [Fact]
    public async Task Pins_StaySortedWithoutRepeats_AndGetChatShowsThem()
    {
        var (user, chat) = await ChatWithExchangesAsync(2); // 1-5
        var client = Fixture.Client(user);

        Assert.Equal([3L], (await PinAsync(client, chat.ChatId, 3)).PinnedSeqs);
        Assert.Equal([1L, 3], (await PinAsync(client, chat.ChatId, 1)).PinnedSeqs);
        Assert.Equal([1L, 3], (await PinAsync(client, chat.ChatId, 3)).PinnedSeqs); // twice is one pin
        Assert.Equal([1L, 3], (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).PinnedSeqs);

        Assert.Equal([3L], (await UnpinAsync(client, chat.ChatId, 1)).PinnedSeqs);
        Assert.Equal([3L], (await UnpinAsync(client, chat.ChatId, 1)).PinnedSeqs);
        Assert.Equal([3L], (await client.GetChatAsync(new GetChatRequest { ChatId = chat.ChatId }, cancellationToken: Ct)).PinnedSeqs);

        await client.DeleteTurnsAsync(new DeleteTurnsRequest { ChatId = chat.ChatId, Seqs = { 5 } }, cancellationToken: Ct);
        var before = await SnapshotAsync();
        await AssertStatusAsync(StatusCode.FailedPrecondition, () => PinAsync(client, chat.ChatId, 5)); // deleted
        await AssertStatusAsync(StatusCode.NotFound, () => PinAsync(client, chat.ChatId, 99));
        await AssertStatusAsync(StatusCode.InvalidArgument, () => PinAsync(client, chat.ChatId, 0));
        var stranger = Fixture.Client(TestUsers.New());
        await AssertStatusAsync(StatusCode.NotFound, () => PinAsync(stranger, chat.ChatId, 1));
        await AssertStatusAsync(StatusCode.NotFound, () => UnpinAsync(stranger, chat.ChatId, 3));
        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal([3L], await StoredPinsAsync(chat.ChatId));
    }

    [Fact]
    public async Task Pinning_PastTheLimit_IsFailedPrecondition_SayingTheLimit()
    {
        var (user, chat) = await ChatWithFillerAsync(25);
        var client = Fixture.Client(user);
        for (var seq = 2; seq <= 21; seq++)
        {
            await PinAsync(client, chat.ChatId, seq);
        }

        var ex = await AssertStatusAsync(StatusCode.FailedPrecondition, () => PinAsync(client, chat.ChatId, 22));

        Assert.Contains("(20)", ex.Status.Detail);
        Assert.Equal(20, (await PinAsync(client, chat.ChatId, 21)).PinnedSeqs.Count); // already pinned: no refusal
        Assert.Equal(Enumerable.Range(2, 20).Select(i => (long)i), await StoredPinsAsync(chat.ChatId));
    }

    [Fact]
    public async Task APinnedTurn500TurnsBack_IsInThePrompt_UntilUnpinned()
    {
        const string secret = "Remember: the password is swordfish.";
        var (user, chat) = await ChatWithFillerAsync(500, secret); // 1 greeting, 2 the secret, 3-501 filler
        var client = Fixture.Client(user);
        await PinAsync(client, chat.ChatId, 2);

        var before = OpenAI.Server.Requests.Count;
        await SendAsync(user, chat.ChatId, "What is the password?");
        var prompt = OpenAI.Server.Messages(before);

        // Ahead of the recent turns, once; the turns between are not in it.
        Assert.Equal(("user", secret), prompt[1]);
        Assert.Single(prompt, m => m.Content == secret);
        Assert.Equal(("user", "filler 501"), prompt[^2]);
        Assert.DoesNotContain(prompt, m => m.Content == "filler 100");
        Assert.Equal(("user", "What is the password?"), prompt[^1]);

        await UnpinAsync(client, chat.ChatId, 2);
        before = OpenAI.Server.Requests.Count;
        await SendAsync(user, chat.ChatId, "And now?");
        prompt = OpenAI.Server.Messages(before);

        Assert.DoesNotContain(prompt, m => m.Content == secret);
        Assert.Equal(("user", "And now?"), prompt[^1]);
    }

    [Fact]
    public async Task APinnedTurnAmongTheRecentOnes_IsNotRepeated()
    {
        var (user, chat) = await ChatWithExchangesAsync(1); // 1-3
        var client = Fixture.Client(user);
        await PinAsync(client, chat.ChatId, 2);

        var before = OpenAI.Server.Requests.Count;
        await SendAsync(user, chat.ChatId, "again");

        Assert.Single(OpenAI.Server.Messages(before), m => m.Content == "message 0");
    }

    /// <summary>
    /// A chat with its greeting, then <paramref name="turns"/> user turns written straight to Spanner in
    /// one commit ("filler 2", "filler 3", …, the first one <paramref name="firstText"/> when given):
    /// sending them would take minutes. Nobody has read the chat yet, so no cache holds anything of it.
    /// </summary>
    private async Task<(string User, Chat Chat)> ChatWithFillerAsync(int turns, string? firstText = null)
    {
        var (user, chat) = await ChatWithExchangesAsync(0);
        var mutations = new List<SpannerMutation>();
        for (var seq = 2L; seq <= turns + 1; seq++)
        {
            mutations.Add(SpannerMutation.Insert("Turns")
                .Set("ChatId", chat.ChatId)
                .Set("Seq", seq)
                .Set("AuthorRole", 1L)
                .Set("Text", seq == 2 && firstText is not null ? firstText : $"filler {seq}")
                .Set("CandidateCount", 0L)
                .Set("CreateTime", SpannerCommitTimestamp.Value)
                .Set("UpdateTime", SpannerCommitTimestamp.Value));
        }

        mutations.Add(SpannerMutation.Update("Chats").Set("ChatId", chat.ChatId).Set("NextSeq", (long)turns + 1));
        await Fixture.Database.WriteAsync(mutations, Ct);
        return (user, chat);
    }

    private static async Task<Chat> PinAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq) =>
        await client.PinTurnAsync(new PinTurnRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);

    private static async Task<Chat> UnpinAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq) =>
        await client.UnpinTurnAsync(new UnpinTurnRequest { ChatId = chatId, Seq = seq }, cancellationToken: Ct);

    /// <summary>The turn's rating on the first history page (served from the cached window).</summary>
    private static async Task<Rating?> CachedRatingAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq) =>
        (await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId }, cancellationToken: Ct)).Turns.Single(t => t.Seq == seq).Rating;

    /// <summary>The turn's rating on a deeper history page (read from Spanner): the first page ends just after the turn.</summary>
    private static async Task<Rating?> StoredRatingAsync(ChatService.Api.V1.ChatService.ChatServiceClient client, string chatId, long seq)
    {
        var first = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 1 }, cancellationToken: Ct);
        var newest = first.Turns[0].Seq;
        Assert.True(newest > seq);
        var skip = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = (int)(newest - seq) }, cancellationToken: Ct);
        var deeper = await client.GetHistoryAsync(new GetHistoryRequest { ChatId = chatId, PageSize = 1, PageToken = skip.NextPageToken }, cancellationToken: Ct);
        return Assert.Single(deeper.Turns, t => t.Seq == seq).Rating;
    }

    private async Task<List<long>> StoredPinsAsync(string chatId)
    {
        var rows = await Fixture.Database.QueryListAsync(new SpannerStatement("SELECT PinnedSeqs FROM Chats WHERE ChatId = @c").Add("c", chatId), cancellationToken: Ct);
        return rows[0].Get<List<long>?>("PinnedSeqs") ?? [];
    }

    private async Task WaitUntilSettledAsync(string chatId)
    {
        for (var i = 0; i < 100 && await Fixture.CountAsync("SELECT COUNT(*) FROM Candidates WHERE ChatId = @c AND State IN (1, 2)", ("c", chatId)) > 0; i++)
        {
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>Every table's row count, ratings and pins included.</summary>
    private async Task<string> SnapshotAsync() =>
        $"{await Fixture.SnapshotAsync()}, Ratings={await Fixture.CountAsync("SELECT COUNT(*) FROM Ratings")}, " +
        $"Pins={await Fixture.CountAsync("SELECT IFNULL(SUM(ARRAY_LENGTH(PinnedSeqs)), 0) FROM Chats")}, " +
        $"RatingTimes={await Fixture.CountAsync("SELECT IFNULL(SUM(UNIX_MICROS(UpdateTime)), 0) FROM Ratings")}";

    /// <summary>The export query exactly as README.md shows it: the ```sql block right after its marker comment.</summary>
    private string ReadmeExportQuery()
    {
        var readme = File.ReadAllText(Path.Combine(Fixture.Stack.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var match = ExportQueryBlock().Match(readme);
        Assert.True(match.Success, "README.md has no ```sql block right after <!-- training-export-query ... -->");
        return match.Groups["sql"].Value;
    }

    [GeneratedRegex(@"<!-- training-export-query\b[^\n]*-->\n```sql\n(?<sql>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex ExportQueryBlock();
}
